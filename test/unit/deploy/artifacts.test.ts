import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../../src/config/load.js";
import { SETTINGS } from "../../../src/config/schema.js";

// Every deployment artifact under deploy/ is parsed here and its essentials checked (issue 8):
// ports, probes, env names (SETTINGS), the image running the CLI, and metric names the server exports.

const root = fileURLToPath(new URL("../../../", import.meta.url));
const deploy = join(root, "deploy");
const read = (p: string) => readFileSync(join(deploy, p), "utf8");
const PORT = Number(SETTINGS.STYX_PORT.default);
const HEALTH = "/v1/styx/health";
const READY = "/readyz";

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `${what} is a mapping`);
  return v as Obj;
};
const arr = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} is a list`);
  return v;
};

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** `STYX_*` names in a text that are not settings (the typo detector). */
function unknownSettings(text: string): string[] {
  const names = new Set(text.match(/\bSTYX_[A-Z0-9_]+\b/g) ?? []);
  return [...names].filter((n) => !(n in SETTINGS));
}

/** Metric names the server registers: the Metrics class and every `metrics.gauge("…")` in src/. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of walk(join(root, "src")).filter((f) => f.endsWith(".ts"))) {
    const src = readFileSync(file, "utf8");
    for (const m of src.matchAll(/\bname:\s*"(styx_[a-z0-9_]+)"/g)) names.add(m[1] as string);
    for (const m of src.matchAll(/\b(?:gauge|labeledGauge)\(\s*"(styx_[a-z0-9_]+)"/g)) names.add(m[1] as string);
  }
  // Histograms expose _bucket, _sum and _count series.
  const metricsTs = readFileSync(join(root, "src/server/metrics.ts"), "utf8");
  for (const m of metricsTs.matchAll(/new Histogram\(\{\s*name:\s*"(styx_[a-z0-9_]+)"/g)) {
    for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m[1]}${suffix}`);
  }
  return names;
}

/** Metric-looking names in a PromQL expression (styx_ only; functions and labels are not styx_). */
const metricsIn = (expr: string) => [...new Set(expr.match(/\bstyx_[a-z0-9_]+\b/g) ?? [])];
/** Default process metrics, registered by collectDefaultMetrics with this prefix. */
const isProcessMetric = (n: string) => n.startsWith("styx_process_");

describe("deploy/ artifacts", () => {
  it("every STYX_* name anywhere under deploy/ is a setting in src/config/schema.ts", () => {
    const files = walk(deploy);
    assert.ok(files.length >= 10, `deploy/ holds the artifacts (found ${files.length})`);
    let seen = 0;
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      seen += (text.match(/\bSTYX_[A-Z0-9_]+\b/g) ?? []).length;
      assert.deepEqual(unknownSettings(text), [], `${relative(root, f)} names only settings of SETTINGS`);
    }
    assert.ok(seen > 20, `the artifacts do name settings (${seen} occurrences)`);
    // The check itself catches a typo.
    assert.deepEqual(unknownSettings("STYX_PROFILE=macro STYX_DATABSE_URL=postgres://x"), ["STYX_DATABSE_URL"], "a typo is caught");
  });

  it("Dockerfile: multi-stage, native build tools, non-root, health check, runs the CLI at dist/cli/main.js", () => {
    // Join continuation lines, drop comments, split into [instruction, args].
    const lines = read("Dockerfile")
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const ins = lines.map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l);
      assert.ok(m, `Dockerfile line parses: ${l}`);
      return [(m[1] as string).toUpperCase(), m[2] as string] as const;
    });
    const all = (k: string) => ins.filter(([i]) => i === k).map(([, a]) => a);
    const last = (k: string) => all(k).at(-1);

    const froms = all("FROM");
    assert.ok(froms.length >= 2, "multi-stage: at least two FROM");
    assert.match(froms[0] as string, /\bAS\s+build\b/i, "first stage is named build");
    const runs = all("RUN").join("\n");
    assert.match(runs, /python3/, "build stage installs python3 (better-sqlite3)");
    assert.match(runs, /\bmake\b/, "build stage installs make");
    assert.match(runs, /g\+\+/, "build stage installs g++");
    assert.match(runs, /npm (ci|install)/, "dependencies installed with npm ci/install");
    assert.match(runs, /npm run build/, "npm run build");
    assert.match(runs, /npm prune --omit=dev|npm ci --omit=dev/, "runtime keeps production dependencies only");

    // The runtime stage: everything after the last FROM.
    const lastFrom = ins.findLastIndex(([i]) => i === "FROM");
    const runtime = ins.slice(lastFrom);
    assert.ok(
      runtime.some(([i, a]) => i === "COPY" && /--from=build/.test(a) && /\bdist\b/.test(a)),
      "runtime copies dist/ from the build stage",
    );
    const user = runtime.filter(([i]) => i === "USER").at(-1)?.[1];
    assert.ok(user, "runtime stage sets USER");
    assert.ok(!/^(root|0)(:|$)/.test(user), `runtime user is not root (USER ${user})`);

    const hc = last("HEALTHCHECK") ?? "";
    assert.ok(hc.includes(HEALTH), `HEALTHCHECK hits ${HEALTH}`);
    assert.ok(hc.includes(String(PORT)), `HEALTHCHECK uses port ${PORT}`);
    assert.equal(last("EXPOSE"), String(PORT), `EXPOSE ${PORT}`);
    assert.deepEqual(JSON.parse(last("ENTRYPOINT") ?? "null"), ["node", "dist/cli/main.js"], "ENTRYPOINT runs the CLI");
    assert.deepEqual(JSON.parse(last("CMD") ?? "null"), ["serve"], "CMD serve");
    assert.ok(
      all("VOLUME").some((v) => v.includes("/data")),
      "a data volume for the micronode",
    );
    assert.ok(
      all("ENV").some((e) => /STYX_DATA_DIR=\/data\b/.test(e)),
      "STYX_DATA_DIR points at the volume",
    );
    // The entrypoint exists after `npm run build` (pretest builds).
    assert.ok(existsSync(join(root, "src/cli/main.ts")), "the CLI source exists");
    assert.ok(existsSync(join(root, "dist/cli/main.js")), "npm run build produces dist/cli/main.js");
    assert.ok(existsSync(join(deploy, "Dockerfile.dockerignore")), "the build context is filtered");
  });

  it("compose.yaml: 2 macro gateways on one cluster, the services, health checks and a one-shot migrate", () => {
    const doc = obj(parse(read("compose.yaml")), "compose");
    const services = obj(doc.services, "services");
    const env = (name: string) => obj(obj(services[name], name).environment, `${name}.environment`);
    const gateways = Object.keys(services).filter((n) => {
      const s = obj(services[n], n);
      return JSON.stringify(s.command) === '["serve"]';
    });
    assert.equal(gateways.length, 2, `two gateways (${gateways.join(", ")})`);
    const clusters = new Set(gateways.map((g) => env(g).STYX_CLUSTER));
    assert.equal(clusters.size, 1, "gateways share STYX_CLUSTER");
    assert.ok([...clusters][0], "STYX_CLUSTER is set");
    for (const g of gateways) {
      const s = obj(services[g], g);
      const e = env(g);
      assert.equal(e.STYX_PROFILE, "macro", `${g} STYX_PROFILE=macro`);
      assert.equal(String(e.STYX_PORT ?? PORT), String(PORT), `${g} listens on ${PORT}`);
      assert.ok(
        arr(s.ports, `${g}.ports`).some((p) => String(p).endsWith(`:${PORT}`)),
        `${g} publishes container port ${PORT}`,
      );
      assert.match(JSON.stringify(obj(s.healthcheck, `${g}.healthcheck`).test), /\/readyz|\/v1\/styx\/health/, `${g} health check`);
      const dep = obj(obj(s.depends_on, `${g}.depends_on`).migrate, `${g} depends on migrate`);
      assert.equal(dep.condition, "service_completed_successfully", `${g} waits for migrate to finish`);
      // The environment is a valid macronode configuration.
      const c = loadConfig(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)])));
      assert.equal(c.profile, "macro", `${g} config loads as macro`);
    }
    const migrate = obj(services.migrate, "migrate");
    assert.deepEqual(migrate.command, ["migrate"], "migrate runs `styx migrate`");
    assert.equal(String(migrate.restart), "no", "migrate is one-shot");
    assert.equal(obj(migrate.build, "migrate.build").dockerfile, "deploy/Dockerfile", "built from deploy/Dockerfile");

    const images: Record<string, RegExp> = {
      postgres: /^postgres:/,
      nats: /^nats:/,
      redis: /^redis:/,
      minio: /^minio\/minio/,
      prometheus: /^prom\/prometheus/,
      grafana: /^grafana\/grafana/,
    };
    for (const [name, image] of Object.entries(images)) {
      const s = obj(services[name], name);
      assert.match(String(s.image), image, `${name} image`);
      assert.ok(s.healthcheck, `${name} has a health check`);
    }
    assert.ok(arr(obj(services.nats, "nats").command, "nats.command").includes("-js"), "NATS runs with JetStream (-js)");
    const gw = env(gateways[0] as string);
    assert.match(String(gw.STYX_DATABASE_URL), /@postgres:5432\//, "gateways reach postgres");
    assert.match(String(gw.STYX_NATS_URL), /^nats:\/\/nats:4222$/, "gateways reach nats");
    assert.match(String(gw.STYX_REDIS_URL), /^redis:\/\/redis:6379$/, "gateways reach redis");
    assert.match(String(gw.STYX_S3_ENDPOINT), /^http:\/\/minio:9000$/, "gateways reach minio");
    assert.match(
      JSON.stringify(obj(services["minio-init"], "minio-init").entrypoint),
      new RegExp(`mb .*${gw.STYX_S3_BUCKET}`),
      "bucket created",
    );
  });

  it("prometheus.yml scrapes both gateways' /metrics and loads the alert rules", () => {
    const doc = obj(parse(read("prometheus/prometheus.yml")), "prometheus.yml");
    assert.ok(
      arr(doc.rule_files, "rule_files").some((f) => String(f).endsWith("alerts.yaml")),
      "loads alerts.yaml",
    );
    const job = obj(arr(doc.scrape_configs, "scrape_configs")[0], "scrape config");
    assert.equal(job.metrics_path, "/metrics", "scrapes /metrics");
    const targets = arr(obj(arr(job.static_configs, "static_configs")[0], "static config").targets, "targets").map(String);
    const services = Object.keys(obj(obj(parse(read("compose.yaml")), "compose").services, "services"));
    assert.equal(targets.length, 2, "two targets");
    for (const t of targets) {
      const [host, port] = t.split(":");
      assert.ok(services.includes(host as string), `${t} is a compose service`);
      assert.equal(Number(port), PORT, `${t} on port ${PORT}`);
    }
  });

  it("alerts.yaml: the required rules, on metrics the server exports", () => {
    const exported = exportedMetrics();
    for (const m of [
      "styx_requests_total",
      "styx_request_duration_seconds_bucket",
      "styx_leader",
      "styx_pheromones_active",
      "styx_ws_connections",
      "styx_storage_bytes",
      "styx_storage_capacity_bytes",
      "styx_dependency_up",
      "styx_postgres_pool_wait_seconds",
    ]) {
      assert.ok(exported.has(m), `the server exports ${m} (found in src/)`);
    }
    const doc = obj(parse(read("prometheus/alerts.yaml")), "alerts.yaml");
    const rules = arr(doc.groups, "groups").flatMap((g) => arr(obj(g, "group").rules, "rules").map((r) => obj(r, "rule")));
    const exprs = rules.map((r) => String(r.expr));
    for (const r of rules) {
      assert.ok(r.alert && r.expr && obj(r.labels, `${r.alert}.labels`).severity, `${r.alert} has alert, expr, severity`);
      for (const m of metricsIn(String(r.expr))) {
        assert.ok(exported.has(m) || isProcessMetric(m), `${r.alert}: ${m} is exported by the server`);
      }
    }
    const has = (re: RegExp, what: string) =>
      assert.ok(
        exprs.some((e) => re.test(e)),
        what,
      );
    has(/histogram_quantile\(0\.99,.*styx_request_duration_seconds_bucket.*\)\s*>\s*0\.5\b/, "p99 > 500 ms");
    has(/styx_requests_total\{status=~"5\.\."\}.*\/.*styx_requests_total.*>\s*0\.01\b/, "5xx > 1 %");
    has(/styx_pheromones_active\)?\s*>\s*100000\b/, "> 100k pheromones");
    has(/styx_ws_connections\)?\s*>\s*10000\b/, "> 10k sockets");
    has(/sum\(styx_leader\)\s*==\s*0/, "no leader");
    has(/time\(\)\s*-.*styx_backup_last_success_timestamp_seconds/, "backup age");
    has(/styx_storage_bytes.*\/.*styx_storage_capacity_bytes.*>\s*0\.8\b/, "storage > 80 % of capacity");
    has(/styx_dependency_up\)?\s*==\s*0/, "a dependency down");
    has(/styx_postgres_pool_wait_seconds\)?\s*>\s*\d/, "PostgreSQL pool exhausted");
  });

  it("grafana dashboard: valid JSON, the panels, queries only on exported metrics; provisioning points at it", () => {
    const exported = exportedMetrics();
    const d = obj(JSON.parse(read("grafana/styx-dashboard.json")), "dashboard");
    const panels = arr(d.panels, "panels").map((p) => obj(p, "panel"));
    const titles = panels.map((p) => String(p.title).toLowerCase());
    for (const t of ["request rate", "p99", "5xx", "websocket", "events/s", "pheromones", "leader"]) {
      assert.ok(
        titles.some((x) => x.includes(t)),
        `a panel for ${t}`,
      );
    }
    let queries = 0;
    for (const p of panels) {
      for (const t of arr(p.targets, `${p.title}.targets`)) {
        const expr = String(obj(t, "target").expr);
        queries++;
        assert.ok(metricsIn(expr).length > 0, `${p.title}: query names a styx metric`);
        for (const m of metricsIn(expr)) assert.ok(exported.has(m) || isProcessMetric(m), `${p.title}: ${m} is exported`);
      }
    }
    assert.ok(queries >= 7, `${queries} queries`);
    const prov = obj(parse(read("grafana/provisioning/dashboards/styx.yaml")), "dashboard provider");
    const path = obj(obj(arr(prov.providers, "providers")[0], "provider").options, "options").path;
    assert.match(
      read("compose.yaml"),
      new RegExp(`styx-dashboard\\.json:${path}/`),
      "compose mounts the dashboard where the provider reads",
    );
    const dsrc = obj(arr(obj(parse(read("grafana/provisioning/datasources/prometheus.yaml")), "ds").datasources, "datasources")[0], "ds");
    assert.equal(dsrc.uid, "prometheus", "datasource uid matches the panels'");
  });

  it("k8s: Deployment probes /readyz and /v1/styx/health on 8080, Service, PDB, ConfigMap and Secret", () => {
    const docs = readdirSync(join(deploy, "k8s"))
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) =>
        parseAllDocuments(read(`k8s/${f}`)).map((d) => {
          assert.deepEqual(d.errors, [], `k8s/${f} parses`);
          return obj(d.toJS(), `k8s/${f}`);
        }),
      );
    const kind = (k: string) => {
      const found = docs.filter((d) => d.kind === k);
      assert.equal(found.length, 1, `one ${k}`);
      return found[0] as Obj;
    };
    const dep = kind("Deployment");
    const spec = obj(obj(obj(dep.spec, "spec").template, "template").spec, "pod spec");
    const c = obj(arr(spec.containers, "containers")[0], "container");
    assert.deepEqual(c.args, ["serve"], "container runs serve");
    const port = obj(arr(c.ports, "ports")[0], "port");
    assert.equal(port.containerPort, PORT, `containerPort ${PORT}`);
    const probe = (name: string) => obj(obj(c[name], name).httpGet, `${name}.httpGet`);
    assert.equal(probe("readinessProbe").path, READY, "readiness on /readyz");
    assert.equal(probe("livenessProbe").path, HEALTH, "liveness on /v1/styx/health");
    for (const p of ["readinessProbe", "livenessProbe"]) assert.ok([port.name, PORT].includes(probe(p).port), `${p} on the http port`);
    assert.equal(obj(spec.securityContext, "securityContext").runAsNonRoot, true, "runs as non-root");
    assert.deepEqual(obj(arr(spec.initContainers, "initContainers")[0], "init").args, ["migrate"], "init container migrates");

    const svc = obj(kind("Service").spec, "service spec");
    assert.equal(obj(arr(svc.ports, "service ports")[0], "service port").targetPort, port.name, "Service targets the http port");
    const labels = obj(obj(obj(dep.spec, "spec").selector, "selector").matchLabels, "matchLabels");
    assert.deepEqual(svc.selector, labels, "Service selects the Deployment's pods");
    const pdb = obj(kind("PodDisruptionBudget").spec, "pdb spec");
    assert.deepEqual(obj(pdb.selector, "pdb selector").matchLabels, labels, "PDB selects the Deployment's pods");
    assert.ok(Number(pdb.minAvailable) >= 1, "PDB keeps a gateway up");

    const cm = obj(kind("ConfigMap").data, "configmap data");
    const secret = obj(kind("Secret").stringData, "secret data");
    for (const k of [...Object.keys(cm), ...Object.keys(secret)]) assert.ok(k in SETTINGS, `${k} is a setting`);
    const env = Object.fromEntries(Object.entries({ ...cm, ...secret }).map(([k, v]) => [k, String(v)]));
    assert.equal(loadConfig(env).profile, "macro", "ConfigMap + Secret load as a macronode config");
    assert.equal(String(cm.STYX_PORT), String(PORT), `STYX_PORT ${PORT}`);
    const refs = JSON.stringify(c.envFrom);
    assert.ok(refs.includes("styx-config") && refs.includes("styx-secrets"), "container takes env from both");
  });

  it("fly.toml: two regions, health check on /v1/styx/health, internal_port 8080", () => {
    const fly = read("fly.toml");
    assert.match(fly, /^primary_region\s*=\s*"[a-z]{3}"/m, "primary_region");
    const regions = /--region\s+([a-z]{3}(?:,[a-z]{3})+)/.exec(fly)?.[1]?.split(",") ?? [];
    assert.equal(new Set(regions).size, 2, `two regions (${regions.join(", ")})`);
    assert.ok(regions.includes(/^primary_region\s*=\s*"([a-z]{3})"/m.exec(fly)?.[1] as string), "the primary is one of them");
    assert.match(fly, /^\[http_service\][^[]*internal_port\s*=\s*(\d+)/m, "[http_service] internal_port");
    assert.equal(Number(/internal_port\s*=\s*(\d+)/.exec(fly)?.[1]), PORT, `internal_port ${PORT}`);
    assert.match(fly, /\[\[http_service\.checks\]\][^[]*path\s*=\s*"\/v1\/styx\/health"/, "health check path");
    assert.match(fly, /^\s*STYX_PROFILE\s*=\s*"macro"/m, "macro profile");
    assert.match(fly, /^\s*release_command\s*=\s*"migrate"/m, "migrates on release");
    assert.match(fly, /fly secrets set [^\n]*STYX_SECRET_KEY=/, "STYX_SECRET_KEY is set as a secret (required on a macronode)");
  });

  it("nomad: native service discovery, checks on /readyz and /v1/styx/health, port 8080", () => {
    const hcl = read("nomad/styx.nomad.hcl");
    const opens = hcl.match(/\{/g)?.length ?? 0;
    const closes = hcl.match(/\}/g)?.length ?? 0;
    assert.equal(opens, closes, "braces balance");
    assert.match(hcl, /^job\s+"styx"\s*\{/m, "job styx");
    assert.match(hcl, /service\s*\{[^}]*provider\s*=\s*"nomad"/, 'service provider = "nomad"');
    const checks = [...hcl.matchAll(/check\s*\{([^}]*)\}/g)].map((m) => m[1] as string);
    const paths = checks.map((c) => /path\s*=\s*"([^"]+)"/.exec(c)?.[1]);
    assert.ok(paths.includes(READY), "a check on /readyz");
    assert.ok(paths.includes(HEALTH), "a check on /v1/styx/health");
    for (const c of checks) assert.match(c, /type\s*=\s*"http"/, "http checks");
    assert.match(hcl, /port\s+"http"\s*\{\s*to\s*=\s*(\d+)/, "http port mapping");
    assert.equal(Number(/port\s+"http"\s*\{\s*to\s*=\s*(\d+)/.exec(hcl)?.[1]), PORT, `maps to ${PORT}`);
    assert.match(hcl, /count\s*=\s*2/, "two gateways");
    assert.match(hcl, /args\s*=\s*\["migrate"\]/, "a migrate task");
    assert.match(hcl, /hook\s*=\s*"prestart"/, "migrate runs before the gateway");
    assert.match(hcl, /STYX_PROFILE\s*=\s*"macro"/, "macro profile");
    assert.match(hcl, /nomad var put [^\n]*STYX_SECRET_KEY=/, "STYX_SECRET_KEY comes from Nomad Variables (required on a macronode)");
  });
});
