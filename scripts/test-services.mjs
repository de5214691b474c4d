#!/usr/bin/env node
// The service-backed suite: the whole integration suite on both profiles (micro, then macro
// over the local PostgreSQL, NATS, Redis and an in-process S3 server), then test/services
// (adapter contracts on the real services, multi-gateway tests), then test/faults (restarts
// of the services under load). Never skips: a
// service that is down fails the tests that need it. Leftover test clusters of earlier runs are
// dropped first.
//
// `--no-micro` leaves out the integration suite on micro: `npm test` runs exactly that (micro is
// its default profile), and CI runs `npm test` first.
import { spawnSync } from "node:child_process";

const noMicro = process.argv.includes("--no-micro");

const run = (args, env = {}) => {
  const r = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
};
const steps = [
  ["clean", ["--import", "tsx", "scripts/clean-test-clusters.mts"], {}],
  ...(noMicro ? [] : [["integration (micro)", ["scripts/run-tests.mjs", "test/integration"], { STYX_TEST_PROFILE: "micro" }]]),
  ["integration (macro)", ["scripts/run-tests.mjs", "test/integration"], { STYX_TEST_PROFILE: "macro" }],
  ["services", ["scripts/run-tests.mjs", "test/services"], {}],
  // Restarts the machine's PostgreSQL, NATS and Redis: last, and alone.
  ["faults", ["scripts/run-tests.mjs", "test/faults"], {}],
];
if (noMicro) console.log("integration (micro): left out (--no-micro: npm test ran it)");
const failed = [];
for (const [name, args, env] of steps) {
  console.log(`\n=== ${name} ===`);
  if (run(args, env) !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(", ")}`);
  process.exit(1);
}
console.log("\nservice-backed suite passed");
