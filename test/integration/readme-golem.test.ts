import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CHILD_PATH } from "../../src/testing/test-env.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The TypeScript block of the README's Client section: the ten-line golem. */
function readmeGolem(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Client\n"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m?.[1], "the README's Client section has a ```ts block");
  return m[1];
}

describe("the README's ten-line golem", () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    s = await startTestServer();
    // Under node_modules so that `@styx/client` resolves to the workspace package, as in a project.
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true });
    dir = mkdtempSync(join(ROOT, "node_modules", ".cache", "styx-readme-"));
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is ten lines, and run as written against a real server registers, writes, deposits and queries", async () => {
    const code = readmeGolem();
    const lines = code
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "");
    assert.ok(lines.length <= 10, `the README's golem has ${lines.length} lines`);
    assert.ok(code.includes('"http://localhost:8080"'), "the example points at the default address");
    const file = join(dir, "golem.mts");
    writeFileSync(file, code.replace('"http://localhost:8080"', JSON.stringify(s.url)));

    const { key, id: userId } = await s.user();
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: { PATH: CHILD_PATH, STYX_KEY: key },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    try {
      // It runs until stopped (heartbeats); the query's answer is its last line of output.
      const deadline = Date.now() + 20_000;
      while (!/oracle lag precedes liquidations/.test(out)) {
        assert.ok(Date.now() < deadline, `no query answer within 20 s:\n${out}`);
        assert.equal(child.exitCode, null, `the golem exited:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const golem = await s.request("GET", "/v1/styx/golems/golem-1", { token: key });
      assert.equal(golem.status, 200, golem.text);
      assert.equal(golem.json.user_id, userId);
      assert.equal(golem.json.archetype, "scout");
      const sensed = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: key });
      assert.equal(sensed.status, 200, sensed.text);
      assert.ok(
        sensed.json.domains.defi?.pheromones.some((p: { class: string }) => p.class === "oracle-lag"),
        `the deposit is not sensed: ${sensed.text}`,
      );
      assert.doesNotMatch(out, /Error|lost events/, "the golem printed an error");
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });
});
