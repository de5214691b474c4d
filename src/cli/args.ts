import { parseArgs } from "node:util";
import { type Config, ConfigError, type ConfigOverrides, loadConfig } from "../config/load.js";

/** Flags shared by every subcommand that reads configuration. */
export const CONFIG_FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  profile: { type: "string" },
  amnesia: { type: "boolean" },
  port: { type: "string" },
  host: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses argv for a subcommand; unknown flags are an error. */
export function parse<T extends Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>>(
  argv: string[],
  flags: T,
) {
  return parseArgs({ args: argv, options: { ...CONFIG_FLAGS, ...flags }, allowPositionals: true, strict: true });
}

/** An error the CLI reports as one message and exit code 1 (or 2 for usage). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The configuration overrides given by CLI flags. */
export function overridesFrom(values: Record<string, unknown>): ConfigOverrides {
  const o: ConfigOverrides = {};
  if (typeof values.config === "string") o.STYX_CONFIG_FILE = values.config;
  if (typeof values["data-dir"] === "string") o.STYX_DATA_DIR = values["data-dir"];
  if (typeof values.profile === "string") o.STYX_PROFILE = values.profile;
  if (values.amnesia === true) o.STYX_AMNESIA = "1";
  if (typeof values.port === "string") o.STYX_PORT = values.port;
  if (typeof values.host === "string") o.STYX_HOST = values.host;
  return o;
}

/** Loads configuration with CLI flags taking precedence over the environment; bad values become a CliError (exit 2) naming each variable. */
export function configFrom(values: Record<string, unknown>): Config {
  try {
    return loadConfig(undefined, overridesFrom(values));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** A required string flag. */
export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new CliError(`--${name} is required`, 2);
  return v;
}
