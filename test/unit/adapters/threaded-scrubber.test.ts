import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { ThreadedScrubber } from "../../../src/adapters/thread/threaded-scrubber.js";
import { IdentifierDirectory, type KnownIdentifier } from "../../../src/core/privacy/directory.js";
import { PacedScrubber, PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";
import { scrubNow } from "../../../src/core/privacy/scrub.js";
import { describeTextScrubberContract } from "../../../src/testing/contracts/text-scrubber.contract.js";

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

/** Failures of the contract's threads: a thread that fails falls back to the event loop, and would pass unseen. */
const contractFailures: unknown[] = [];
describeTextScrubberContract(
  "ThreadedScrubber (worker thread)",
  (directory) => new ThreadedScrubber(directory, new PacedScrubber(directory, async () => {}), (err) => contractFailures.push(err)),
);
describeTextScrubberContract("PacedScrubber (event loop)", (directory) => new PacedScrubber(directory));

describe("ThreadedScrubber (scrubs in a worker thread)", () => {
  const made: ThreadedScrubber[] = [];
  after(async () => {
    for (const s of made) await s.close();
  });

  it("served the contract suite from its thread, never from the fallback", () => {
    assert.deepEqual(contractFailures, []);
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

  it("runs its thread under SCHED_IDLE on Linux where chrt is installed (the event loop takes a core it holds at once)", async (t) => {
    const hasChrt = process.platform === "linux" && spawnSync("chrt", ["--help"], { stdio: "ignore" }).status === 0;
    if (!hasChrt) return t.skip("not Linux, or no chrt (util-linux): the thread keeps nice 10 only");
    const policies = () =>
      readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]); // field 41: policy
      });
    const before = policies().filter((p) => p === 5).length;
    const { scrubber } = threaded();
    made.push(scrubber);
    assert.equal(await scrubber.scrub("text", "warm the thread up", { userId: alice }), "warm the thread up");
    // SCHED_IDLE is policy 5: one more thread of this process has it once the scrub thread runs.
    assert.equal(policies().filter((p) => p === 5).length, before + 1);
  });
});
