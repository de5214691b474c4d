import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSync } from "../../core/platform/paced.js";
import { IdentifierDirectory, type KnownIdentifier } from "../../core/privacy/directory.js";
import type { TextScrubber } from "../../core/privacy/public-pipeline.js";
import { identifierSteps, scrubNow } from "../../core/privacy/scrub.js";

const alice = "usr_alice0000000000000000";
const ids: KnownIdentifier[] = [
  { kind: "user", value: alice, userId: alice },
  { kind: "golem", value: "glm_Zq3xP9aT7bL2mN5vK8wR1s", userId: alice },
  { kind: "golem", value: "carol", userId: alice },
  { kind: "wallet", value: "0x9fB2c3D4e5F60718293a4B5c6D7e8F9012345678", userId: alice },
];

/** Texts that exercise every pass: identifiers in plain, spaced, encoded and case-folded forms, generic detectors, a long run. */
export const SCRUB_SAMPLES: readonly string[] = [
  "plain prose with nothing to hide, at 3 pm the spread widened",
  "glm_Zq3xP9aT7bL2mN5vK8wR1s bought, then g l m _ Z q 3 x P 9 a T 7 b L 2 m N 5 v K 8 w R 1 s sold",
  `base64 ${Buffer.from("glm_Zq3xP9aT7bL2mN5vK8wR1s").toString("base64")} and hex ${Buffer.from(alice).toString("hex")}`,
  "carol said so; carol_trader did not; wallet 0x9fb2c3d4e5f60718293a4b5c6d7e8f9012345678 paid 42069usdc",
  "mail bob [at] example [dot] com or https://example.com/u/bob#frag, 1700000000000",
  `${"6361726f6c ".repeat(3000)}`,
];

/**
 * The behaviour every TextScrubber must show: exactly the deterministic scrub's answer against
 * the directory as it was when the call was made. `make` gets an empty directory (a scrubber
 * may have to be made before its directory is filled); `close` is called when the test ends.
 */
export function describeTextScrubberContract(name: string, make: (directory: IdentifierDirectory) => TextScrubber): void {
  describe(`TextScrubber contract: ${name}`, () => {
    async function withScrubber(fn: (s: TextScrubber, directory: IdentifierDirectory) => Promise<void>): Promise<void> {
      const directory = new IdentifierDirectory();
      const s = make(directory);
      try {
        await fn(s, directory);
      } finally {
        await s.close?.();
      }
    }

    it("answers exactly what the deterministic scrub answers, for the writer and for nobody, of either kind", async () => {
      await withScrubber(async (s, directory) => {
        directory.add(ids);
        for (const text of SCRUB_SAMPLES) {
          for (const writer of [{ userId: alice }, { userId: null }]) {
            assert.equal(await s.scrub("text", text, writer), scrubNow(text, directory, writer), text.slice(0, 40));
            assert.equal(await s.scrub("identifiers", text, writer), runSync(identifierSteps(text, directory, writer)), text.slice(0, 40));
          }
        }
      });
    });

    it("knows an identifier added just before the scrub was asked for", async () => {
      await withScrubber(async (s, directory) => {
        const text = "the golem late-golem-77x traded";
        assert.match(await s.scrub("text", text, { userId: null }), /late-golem-77x/, "not known yet: kept");
        directory.add([{ kind: "golem", value: "late-golem-77x", userId: alice }]);
        const after = await s.scrub("text", text, { userId: null });
        assert.doesNotMatch(after, /late-golem/);
        assert.equal(after, scrubNow(text, directory, { userId: null }));
      });
    });

    it("answers each of many concurrent scrubs with its own text's answer", async () => {
      await withScrubber(async (s, directory) => {
        directory.add(ids);
        const asks = SCRUB_SAMPLES.flatMap((t) => [
          { kind: "text" as const, t },
          { kind: "identifiers" as const, t },
        ]);
        const got = await Promise.all(asks.map((a) => s.scrub(a.kind, a.t, { userId: alice })));
        assert.deepEqual(
          got,
          asks.map((a) =>
            a.kind === "text" ? scrubNow(a.t, directory, { userId: alice }) : runSync(identifierSteps(a.t, directory, { userId: alice })),
          ),
        );
      });
    });
  });
}
