import { describeFederationPair } from "../../src/testing/federation-scenarios.js";

/**
 * SPEC §17.4 items 1–3 and item 5's loops between two micronode processes (the scenarios are
 * shared with test/services/federation-macro.test.ts, which runs them with a macronode).
 */
describeFederationPair("micro", "micro");
