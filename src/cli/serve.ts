import { configFrom, parse } from "./args.js";

export const SERVE_HELP = `styx serve [--amnesia] [--port N] [--host ADDR] [--data-dir DIR] [--profile micro|macro] [--config FILE]
  Serves Styx. Flags override STYX_* environment variables.`;

/** `styx serve`: runs until SIGTERM/SIGINT, then drains and exits 0. */
export async function serve(argv: string[]): Promise<number | undefined> {
  const { values } = parse(argv, {});
  if (values.help) return (console.log(SERVE_HELP), 0);
  const config = configFrom(values);
  // Tracing starts before the server's modules load, so the instrumentations see Fastify's logger,
  // http, ioredis and the AWS SDK as they are imported; off, nothing of OpenTelemetry is loaded.
  if (config.tracing) await (await import("../app/tracing.js")).startTracing(config.tracing);
  const { buildStyx } = await import("../app/build.js");
  const styx = await buildStyx(config);
  const log = styx.app.log;
  for (const w of config.warnings) log.warn(w);
  const t = styx.adminToken;
  if (t.source === "generated") process.stderr.write(`Admin token (shown once; stored in ${t.location}):\n  ${t.token}\n`);
  if (t.source === "ephemeral") process.stderr.write(`Admin token (amnesia: held in memory only, gone at exit):\n  ${t.token}\n`);
  const k = styx.secretKey;
  if (k.source === "generated")
    process.stderr.write(
      `STYX_SECRET_KEY generated into ${k.location} (never in the database; styx backup leaves it out unless --with-secrets: keep a copy apart)\n`,
    );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    if (config.shutdownDrainMs > 0) {
      styx.drain();
      log.info({ signal, drain_ms: config.shutdownDrainMs }, "draining: /readyz answers 503 until the load balancer lets go");
      setTimeout(() => shutDown(signal), config.shutdownDrainMs);
    } else shutDown(signal);
  };
  const shutDown = (signal: string) => {
    log.info({ signal }, "shutting down: draining in-flight requests");
    const timer = setTimeout(() => {
      log.error({ timeout_ms: config.shutdownTimeoutMs }, "drain timed out; closing connections");
      styx.app.server.closeAllConnections();
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    styx.close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  const url = await styx.listen();
  const where = config.amnesia ? "amnesia: RAM only" : `data: ${styx.storage.location}`;
  log.info({ url, profile: config.profile, amnesia: config.amnesia }, `styx ${config.profile}node listening on ${url} (${where})`);
  return undefined;
}
