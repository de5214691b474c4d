import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { LARGE_BODY, registerJsonParser, yieldAfterLargeBody } from "../../../src/server/validation.js";

/** Whether a turn of the event loop passed between a body's validation and its handler. */
async function turnBeforeHandler(size: number): Promise<{ turned: boolean; length: number }> {
  const app = Fastify();
  registerJsonParser(app);
  app.addHook("preHandler", yieldAfterLargeBody);
  let turned = false;
  app.addHook("preValidation", (_req, _reply, done) => {
    turned = false;
    setImmediate(() => {
      turned = true;
    });
    done();
  });
  let seen: { turned: boolean; length: number } = { turned: false, length: 0 };
  app.post("/", async (req) => {
    seen = { turned, length: (req.body as { text: string }).text.length };
    return { ok: true };
  });
  const res = await app.inject({ method: "POST", url: "/", payload: { text: "x".repeat(size) } });
  assert.equal(res.statusCode, 200);
  await app.close();
  return seen;
}

describe("large bodies", () => {
  it("start their handler in a later turn of the event loop than their parse and validation", async () => {
    assert.deepEqual(await turnBeforeHandler(LARGE_BODY + 10), { turned: true, length: LARGE_BODY + 10 });
  });

  it("leave small bodies in one turn, as before", async () => {
    assert.deepEqual(await turnBeforeHandler(100), { turned: false, length: 100 });
  });

  it("still refuse invalid JSON with the parser's error", async () => {
    const app = Fastify();
    registerJsonParser(app);
    app.addHook("preHandler", yieldAfterLargeBody);
    app.post("/", async () => ({ ok: true }));
    const res = await app.inject({
      method: "POST",
      url: "/",
      headers: { "content-type": "application/json" },
      payload: `{"a": "${"x".repeat(LARGE_BODY)}"`,
    });
    assert.equal(res.statusCode, 400);
    await app.close();
  });
});
