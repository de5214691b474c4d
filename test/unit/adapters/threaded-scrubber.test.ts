import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ThreadedScrubber } from "../../../src/adapters/thread/threaded-scrubber.js";
import { IdentifierDirectory, type KnownIdentifier } from "../../../src/core/privacy/directory.js";
import { runSync } from "../../../src/core/privacy/matcher.js";
import { PacedScrubber, PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";
import { identifierSteps, scrubNow } from "../../../src/core/privacy/scrub.js";

const alice = "usr_alice0000000000000000";
const ids: KnownIdentifier[] = [
  { kind: "user", value: alice, userId: alice },
  { kind: "golem", value: "glm_Zq3xP9aT7bL2mN5vK8wR1s", userId: alice },
  { kind: "golem", value: "carol", userId: alice },
  { kind: "wallet", value: "0x9fB2c3D4e5F60718293a4B5c6D7e8F9012345678", userId: alice },
];
const texts = [
  "plain prose with nothing to hide, at 3 pm the spread widened",
  "glm_Zq3xP9aT7bL2mN5vK8wR1s bought, then g l m _ Z q 3 x P 9 a T 7 b L 2 m N 5 v K 8 w R 1 s sold",
  `base64 ${Buffer.from("glm_Zq3xP9aT7bL2mN5vK8wR1s").toString("base64")} and hex ${Buffer.from(alice).toString("hex")}`,
  "carol said so; carol_trader did not; wallet 0x9fb2c3d4e5f60718293a4b5c6d7e8f9012345678 paid 42069usdc",
  "mail bob [at] example [dot] com or https://example.com/u/bob#frag, 1700000000000",
  `${"6361726f6c ".repeat(3000)}`,
];

function threaded(): { directory: IdentifierDirectory; scrubber: ThreadedScrubber; failures: unknown[] } {
  const directory = new IdentifierDirectory();
  const failures: unknown[] = [];
  const scrubber = new ThreadedScrubber(directory, new PacedScrubber(directory, async () => {}), (err) => failures.push(err));
  return { directory, scrubber, failures };
}

describe("ThreadedScrubber (scrubs in a worker thread)", () => {
  const made: ThreadedScrubber[] = [];
  after(async () => {
    for (const s of made) await s.close();
  });

  it("answers exactly what the scrub on the main thread answers, for the writer and for nobody", async () => {
    const { directory, scrubber, failures } = threaded();
    made.push(scrubber);
    directory.add(ids);
    for (const text of texts) {
      for (const writer of [{ userId: alice }, { userId: null }]) {
        assert.equal(await scrubber.scrub("text", text, writer), scrubNow(text, directory, writer), text.slice(0, 40));
        assert.equal(await scrubber.scrub("identifiers", text, writer), runSync(identifierSteps(text, directory, writer)));
      }
    }
    assert.deepEqual(failures, []);
  });

  it("knows an identifier added just before the scrub was asked for (one ordered port)", async () => {
    const { directory, scrubber } = threaded();
    made.push(scrubber);
    const text = "the golem late-golem-77x traded";
    assert.equal(await scrubber.scrub("text", text, { userId: null }), scrubNow(text, directory, { userId: null }));
    const before = await scrubber.scrub("text", text, { userId: null });
    assert.match(before, /late-golem-77x/, "not known yet: kept");
    directory.add([{ kind: "golem", value: "late-golem-77x", userId: alice }]);
    const afterAdd = await scrubber.scrub("text", text, { userId: null });
    assert.doesNotMatch(afterAdd, /late-golem/);
    assert.equal(afterAdd, scrubNow(text, directory, { userId: null }));
  });

  it("moves scrubs in flight to the fallback when the thread stops, and runs later ones there: none is lost", async () => {
    const { directory, scrubber } = threaded();
    directory.add(ids);
    const inflight = texts.map((t) => scrubber.scrub("text", t, { userId: alice }));
    await scrubber.close();
    const answers = await Promise.all(inflight);
    assert.deepEqual(
      answers,
      texts.map((t) => scrubNow(t, directory, { userId: alice })),
    );
    assert.equal(
      await scrubber.scrub("text", texts[3] as string, { userId: alice }),
      scrubNow(texts[3] as string, directory, { userId: alice }),
    );
  });

  it("is made before its directory is filled (its copy follows later adds only)", () => {
    const directory = new IdentifierDirectory();
    directory.add(ids);
    assert.throws(() => new ThreadedScrubber(directory, new PacedScrubber(directory)), /before the directory is filled/);
  });

  it("serves the public pipeline: a lethe copy scrubbed off the loop equals the paced one", async () => {
    const { directory, scrubber } = threaded();
    made.push(scrubber);
    const paced = new PublicPipeline({ directory, pause: async () => {} });
    const off = new PublicPipeline({ directory, scrubber });
    off.remember(ids);
    for (const text of texts) {
      assert.equal(await off.text(text, { userId: alice }), await paced.text(text, { userId: alice }));
      assert.equal(await off.publishable(text), await paced.publishable(text));
    }
  });
});
