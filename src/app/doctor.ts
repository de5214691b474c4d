import { existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { LATEST_SCHEMA_VERSION, openDatabase, schemaVersion } from "../adapters/sqlite/database.js";
import { quickCheck } from "../adapters/sqlite/sqlite-health.js";
import type { Config } from "../config/load.js";
import { ADMIN_TOKEN_FILE } from "./admin-token.js";
import { DATABASE_FILE } from "./storage.js";

/** One line of the doctor's report. */
export type Finding = { level: "ok" | "warn" | "fail"; what: string; detail: string };

/** The data dir, its admin token file and its database: modes, integrity, schema version. */
function checkDataDir(config: Config, out: Finding[]): void {
  const dir = resolve(config.dataDir);
  if (!existsSync(dir)) {
    out.push({ level: "warn", what: "data_dir", detail: `${dir} does not exist yet (created at first start)` });
    return;
  }
  const st = statSync(dir);
  if (!st.isDirectory()) return void out.push({ level: "fail", what: "data_dir", detail: `${dir} is not a directory` });
  const mode = st.mode & 0o777;
  out.push(
    mode & 0o077
      ? { level: "warn", what: "data_dir", detail: `${dir} is mode ${mode.toString(8)}; 700 keeps other users out` }
      : { level: "ok", what: "data_dir", detail: `${dir} (mode ${mode.toString(8)})` },
  );
  const token = join(dir, ADMIN_TOKEN_FILE);
  if (config.adminToken) out.push({ level: "ok", what: "admin", detail: "STYX_ADMIN_TOKEN is set (value hidden)" });
  else if (existsSync(token)) {
    const m = statSync(token).mode & 0o777;
    out.push(
      m & 0o077
        ? { level: "fail", what: "admin", detail: `${token} is mode ${m.toString(8)}; must be 600` }
        : { level: "ok", what: "admin", detail: `${token} (mode 600)` },
    );
  } else out.push({ level: "warn", what: "admin", detail: "no admin token yet (generated at first start)" });
  const file = join(dir, DATABASE_FILE);
  if (!existsSync(file))
    return void out.push({ level: "warn", what: "sqlite", detail: `${file} does not exist yet (created at first start)` });
  try {
    const db = openDatabase(file, { readonly: true });
    const v = schemaVersion(db);
    const integrity = quickCheck(db);
    db.close();
    out.push({ level: integrity === "ok" ? "ok" : "fail", what: "sqlite", detail: `${file}: quick_check ${integrity}` });
    out.push(
      v === LATEST_SCHEMA_VERSION
        ? { level: "ok", what: "schema", detail: `version ${v}` }
        : {
            level: v > LATEST_SCHEMA_VERSION ? "fail" : "warn",
            what: "schema",
            detail: `version ${v}, this build expects ${LATEST_SCHEMA_VERSION} (run styx migrate)`,
          },
    );
  } catch (err) {
    out.push({ level: "fail", what: "sqlite", detail: `${file}: ${(err as Error).message}` });
  }
}

const DEFAULT_PORTS: Record<string, number> = {
  "http:": 80,
  "https:": 443,
};

/** Opens a TCP connection to the URL's host and port (1 s timeout); never prints credentials. */
function reach(name: string, raw: string): Promise<Finding> {
  const url = new URL(raw);
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const shown = `${url.protocol}//${url.host}`;
  return new Promise((done) => {
    const sock = connect({ host, port, timeout: 1000 });
    const finish = (f: Finding) => {
      sock.destroy();
      done(f);
    };
    sock.once("connect", () => finish({ level: "ok", what: name, detail: `${shown} reachable` }));
    sock.once("timeout", () => finish({ level: "fail", what: name, detail: `${shown} timed out` }));
    sock.once("error", (e) => finish({ level: "fail", what: name, detail: `${shown} unreachable (${e.message})` }));
  });
}

/**
 * What `styx doctor` finds of a valid configuration: a macronode's services (each reached with
 * the adapter the server uses), or a micronode's data dir and database and the macronode
 * settings it ignores; then the embedder and the anonymizer endpoints.
 */
export async function diagnose(config: Config): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (config.profile === "macro") findings.push(...(await (await import("./doctor-macro.js")).checkMacro(config)));
  else {
    if (!config.amnesia) checkDataDir(config, findings);
    const unused: [string, string | undefined][] = [
      ["postgres", config.databaseUrl],
      ["nats", config.natsUrl],
      ["redis", config.redisUrl],
      ["s3", config.s3.endpoint],
    ];
    for (const [what, url] of unused) {
      if (url) findings.push({ level: "warn", what, detail: `set, but a micronode does not use it (STYX_PROFILE=macro does)` });
    }
  }
  if (config.embedderUrl) findings.push(await reach("embedder", config.embedderUrl));
  if (config.anonymizer.url) {
    // Optional stage: unreachable, lethe text stays as deterministically scrubbed (a warning, not a failure).
    const f = await reach("anonymizer", config.anonymizer.url);
    findings.push(f.level === "fail" ? { ...f, level: "warn", detail: `${f.detail}; lethe text stays as scrubbed` } : f);
  }
  return findings;
}
