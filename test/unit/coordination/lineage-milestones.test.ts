import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { announceMilestone, isLineageMilestone, LINEAGE_MILESTONES } from "../../../src/core/coordination/lineage-milestones.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { aliveGolem, recordingBus } from "../../../src/testing/core-kit.js";

describe("lineage milestones", () => {
  it("are the generations SPEC §9 names, and no other", () => {
    assert.deepEqual(LINEAGE_MILESTONES, [3, 5, 10, 25, 50, 100]);
    const hits = Array.from({ length: 120 }, (_, g) => g).filter(isLineageMilestone);
    assert.deepEqual(hits, [3, 5, 10, 25, 50, 100]);
  });

  it("announces a milestone golem on its owner's stream and its own, and nothing for another generation", async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const recorded = await recordingBus(clock);
    const parent = aliveGolem("glm_ms02aaaa", "usr_ms", { generation: 2 });
    const child = aliveGolem("glm_ms03aaaa", "usr_ms", {
      generation: 3,
      parentGolemId: parent.id,
      archetype: "scout",
      createdAt: clock.now(),
    });
    assert.equal(await announceMilestone(recorded.bus, parent), false);
    assert.equal(await announceMilestone(recorded.bus, child), true);
    const events = recorded.on("styx:lineage:milestone");
    assert.deepEqual(
      events.map((e) => e.stream),
      ["user:usr_ms", "golem:glm_ms03aaaa"],
    );
    assert.deepEqual(events[0]?.payload, {
      golem_id: child.id,
      generation: 3,
      parent_golem_id: parent.id,
      archetype: "scout",
      reached_at: "2026-06-01T00:00:00.000Z",
    });
  });
});
