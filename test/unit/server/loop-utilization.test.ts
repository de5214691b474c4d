import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loopBusy } from "../../../src/server/loop-utilization.js";

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test("loopBusy answers from the loop's utilization over the last window", async () => {
  // The runner's own start-up work (loading this file's imports) is loop activity too: let it pass,
  // then measure a window that holds only sleep (it failed on Node 24 in CI when measured from the start).
  await sleep(200);
  const busy = loopBusy(50, 100);
  await sleep(150);
  busy(); // rolls the window: from here it spans only the sleeps
  await sleep(150);
  assert.equal(busy(), false, "an idle loop");
  spin(250);
  assert.equal(busy(), true, "250 ms in one stretch");
  await sleep(300);
  busy(); // rolls the window past the stretch
  await sleep(120);
  assert.equal(busy(), false, "idle again once the window has passed the stretch");
  assert.equal(loopBusy(100)(), false, "100 %: never busy");
  spin(50);
  assert.equal(loopBusy(100)(), false);
});
