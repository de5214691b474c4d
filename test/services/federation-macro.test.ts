import { describeFederationPair } from "../../src/testing/federation-scenarios.js";

/**
 * Issue 20, acceptance 1 on micronode ↔ macronode: SPEC §17.4 items 1–3 and item 5's loops
 * (the scenarios of test/integration/federation-link.test.ts) with U a macronode gateway over
 * PostgreSQL, NATS, Redis and S3 and D a micronode; then with D a macronode (its link runs on
 * the gateway that leads) and U a micronode.
 */
describeFederationPair("macro", "micro");
describeFederationPair("micro", "macro");
