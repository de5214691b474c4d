import { diagnose, type Finding } from "../app/doctor.js";
import { type Config, ConfigError, loadConfig } from "../config/load.js";
import { overridesFrom, parse } from "./args.js";

export const DOCTOR_HELP = `styx doctor [--data-dir DIR] [--config FILE]
  Checks configuration, the data dir and its permissions, the database, and every configured
  dependency; prints what it found and exits 1 if anything is wrong.`;

/** `styx doctor`. */
export async function doctor(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) return (console.log(DOCTOR_HELP), 0);
  const findings: Finding[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(undefined, overridesFrom(values));
    findings.push({
      level: "ok",
      what: "config",
      detail: `profile ${config.profile}${config.amnesia ? " (amnesia)" : ""}, port ${config.port}`,
    });
    for (const w of config.warnings) findings.push({ level: "warn", what: "config", detail: w });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) findings.push({ level: "fail", what: "config", detail: p });
  }
  if (config) findings.push(...(await diagnose(config)));
  for (const f of findings) console.log(`${f.level.toUpperCase().padEnd(4)}  ${f.what.padEnd(10)} ${f.detail}`);
  const failed = findings.filter((f) => f.level === "fail").length;
  console.log(failed ? `\n${failed} problem(s) found.` : "\nAll checks passed.");
  return failed ? 1 : 0;
}
