import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const DIR = join(import.meta.dirname, "../../../src/server/ws");
const files = readdirSync(DIR).filter((f) => f.endsWith(".ts"));

/** Lines of every function-like body in a file (name or line). */
function functionLengths(file: string): { name: string; lines: number }[] {
  const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const out: { name: string; lines: number }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && "body" in n && n.body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = src.getLineAndCharacterOfPosition(n.end).line;
      const name = "name" in n && n.name ? (n.name as ts.Node).getText(src) : `line ${first + 1}`;
      out.push({ name, lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

// The socket layer stays small enough to read (issue 15): one owner per piece of state, each in a file of its own.
describe("the socket layer's shape", () => {
  it("has no file over 250 lines", () => {
    const long = files.map((f) => [f, readFileSync(join(DIR, f), "utf8").split("\n").length] as const).filter(([, n]) => n > 250);
    assert.deepEqual(long, []);
  });

  it("has no function over 60 lines", () => {
    const long = files.flatMap((f) =>
      functionLengths(join(DIR, f))
        .filter((x) => x.lines > 60)
        .map((x) => `${f}: ${x.name} (${x.lines})`),
    );
    assert.deepEqual(long, []);
  });

  it("gives Connection no public mutable field", () => {
    const src = ts.createSourceFile("connection.ts", readFileSync(join(DIR, "connection.ts"), "utf8"), ts.ScriptTarget.Latest, true);
    const mutable: string[] = [];
    const visit = (n: ts.Node) => {
      if (ts.isClassDeclaration(n) && n.name?.text === "Connection") {
        for (const m of n.members) {
          if (!ts.isPropertyDeclaration(m) || ts.isPrivateIdentifier(m.name)) continue;
          const mods = ts.getModifiers(m) ?? [];
          const hidden = mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword);
          if (!hidden && !mods.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword)) mutable.push(m.name.getText(src));
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
    assert.deepEqual(mutable, []);
  });
});
