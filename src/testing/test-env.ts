/**
 * The environment of the test harness, read in this one place (the product reads its own only
 * in src/config/load.ts): which profile the integration suite runs on and where the real
 * services are. Nothing here configures a Styx server; it only tells tests what to start.
 */
const env = process.env;

/** `STYX_TEST_PROFILE=macro` runs the integration suite on macronode gateways (default micro). */
export const TEST_PROFILE: "micro" | "macro" = env.STYX_TEST_PROFILE === "macro" ? "macro" : "micro";

/** The services' addresses: the standard local ports unless STYX_TEST_DATABASE_URL, _NATS_URL or _REDIS_URL say otherwise. */
export const SERVICE_URLS = {
  databaseUrl: env.STYX_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  natsUrl: env.STYX_TEST_NATS_URL ?? "nats://127.0.0.1:4222",
  redisUrl: env.STYX_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
} as const;

/** PATH for spawned server processes (which otherwise get exactly the environment a test gives them). */
export const CHILD_PATH = env.PATH ?? "";

/** Where the proof suite's runner (scripts/test-chaos.mjs) collects each proof's figures, when it runs them. */
export const CHAOS_REPORT_FILE: string | undefined = env.STYX_CHAOS_REPORT;
