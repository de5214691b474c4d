import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";

describe("PublicPipeline: remembered token answers", () => {
  it("answers a token again as the directory answers it now: an identifier added later refuses a value accepted before", () => {
    const directory = new IdentifierDirectory();
    const pipeline = new PublicPipeline({ directory, pause: async () => {} });
    const writer = { userId: "erin" };
    assert.equal(pipeline.token("vault-7f3k9q2z", writer), "vault-7f3k9q2z");
    assert.equal(pipeline.className("vault-7f3k9q2z->rug", writer), "vault-7f3k9q2z->rug");
    // Remembering identifiers already known changes nothing (and costs nothing).
    pipeline.remember([{ kind: "user", value: "erin", userId: "erin" }]);
    const generation = directory.generation;
    pipeline.remember([{ kind: "user", value: "erin", userId: "erin" }]);
    assert.equal(directory.generation, generation);
    // A golem id of another user, strong (8+ letters and digits): matched anywhere, for every writer.
    pipeline.remember([{ kind: "golem", value: "vault-7f3k9q2z", userId: "frank" }]);
    assert.equal(directory.generation, generation + 1);
    assert.equal(pipeline.token("vault-7f3k9q2z", writer), undefined);
    assert.equal(pipeline.className("vault-7f3k9q2z->rug", writer), undefined);
    assert.equal(pipeline.token("rug", writer), "rug");
  });

  it("keeps answers by writer: a weak identifier refuses a value for its own user only", () => {
    const directory = new IdentifierDirectory();
    const pipeline = new PublicPipeline({ directory, pause: async () => {} });
    assert.equal(pipeline.token("lending", { userId: "mallory" }), "lending");
    pipeline.remember([{ kind: "golem", value: "lending", userId: "mallory" }]);
    assert.equal(pipeline.token("lending", { userId: "mallory" }), undefined, "the writer's own weak id");
    assert.equal(pipeline.token("lending", { userId: "carol" }), "lending", "another user's weak id is ordinary text");
    assert.equal(pipeline.token("lending", { userId: null }), "lending");
  });
});
