import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cliProgress } from "../../../src/cli/progress.js";

/** A stand-in for process.stderr: records what is written. */
function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { isTTY, columns: 100, write: (t: string) => out.push(t) > 0 } as unknown as NodeJS.WriteStream };
}

describe("backup progress on the command line", () => {
  it("draws one bar redrawn in place on a terminal, ending with a newline", () => {
    const { out, s } = stream(true);
    const p = cliProgress(s);
    p.start("backup", 200);
    p.section("table entries", 200);
    for (let i = 0; i < 200; i++) p.advance(1);
    p.done();
    const text = out.join("");
    assert.ok(
      out.every((w) => w.startsWith("\r\x1b[2K") || w === "\n"),
      "every draw returns to the line start and clears it",
    );
    assert.match(text, /backup \[#{30}\] 100% 200\/200 done/);
    assert.equal(text.split("\n").length, 2, "one line in all");
  });

  it("writes plain lines otherwise: the start, each table, every 10 %, the end", () => {
    const { out, s } = stream(false);
    const p = cliProgress(s);
    p.start("restore", 1000);
    p.section("table entries", 1000);
    for (let i = 0; i < 1000; i++) p.advance(1);
    p.done();
    assert.ok(!out.join("").includes("\r"), "no carriage returns in a log");
    assert.deepEqual(out, [
      "restore: started (1,000 rows and file chunks)\n",
      "restore: table entries (1,000)\n",
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90].map((n) => `restore: ${n}% (${(n * 10).toLocaleString("en-US")}/1,000)\n`),
      "restore: done (1,000)\n",
    ]);
  });
});
