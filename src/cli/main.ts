import { OperatorError } from "../app/operator-error.js";
import { VERSION } from "../app/version.js";
import { ConfigError } from "../config/load.js";
import { StyxError } from "../core/platform/errors.js";
import { CliError } from "./args.js";

const HELP = `styx ${VERSION} — knowledge relay and persistence for golem fleets

Usage: styx <command> [flags]

  serve            run the server (default micronode; --amnesia for RAM only)
  migrate          apply schema migrations
  backup FILE      write a consistent snapshot of the store (online)
  restore FILE     check a backup, then load it into an empty store
  users create     create a user
  keys create|list|revoke   manage API keys
  audit verify     check the hash-chained audit log
  doctor           check configuration, data dir and dependencies

Every command takes --help. Configuration: STYX_* environment variables (see README).`;

type Command = (argv: string[]) => Promise<number | undefined>;

/** Subcommands load lazily, so `styx audit verify` does not pay for the HTTP server's imports. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve.js")).serve,
  migrate: async () => (await import("./migrate.js")).migrate,
  backup: async () => (await import("./backup.js")).backup,
  restore: async () => (await import("./backup.js")).restore,
  users: async () => (await import("./users.js")).users,
  keys: async () => (await import("./keys.js")).keys,
  audit: async () => (await import("./audit.js")).audit,
  doctor: async () => (await import("./doctor.js")).doctor,
};

/** Entry point of the `styx` command. */
async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") return void console.log(HELP);
  if (cmd === "--version" || cmd === "version") return void console.log(VERSION);
  // Own keys only: `styx constructor` is an unknown command, not Object.prototype.constructor.
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load) {
    console.error(`unknown command '${cmd}'\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  const code = await (await load())(rest);
  if (code !== undefined) process.exitCode = code;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    console.error(`styx: ${err.message}`);
    process.exitCode = err.exitCode;
  } else if (
    err instanceof StyxError ||
    err instanceof ConfigError ||
    err instanceof OperatorError ||
    (err instanceof Error && err.name === "ProfileUnavailableError")
  ) {
    console.error(`styx: ${err.message}`);
    process.exitCode = 1;
  } else if (
    (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ||
    (err as { code?: string }).code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
  ) {
    console.error(`styx: ${(err as Error).message}`);
    process.exitCode = 2;
  } else {
    console.error("styx: unexpected error:", err);
    process.exitCode = 1;
  }
});
