import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeferredLog, type ProcessLog, warnTo } from "../../../src/app/log.js";

function recorder(): ProcessLog & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, msg: string) => void lines.push(`${level} ${JSON.stringify(fields)} ${msg}`);
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("DeferredLog", () => {
  it("holds what is logged before the logger exists and writes it, in order, on attach", () => {
    const log = new DeferredLog();
    log.warn({ a: 1 }, "first");
    log.error({}, "second");
    const target = recorder();
    log.attach(target);
    assert.deepEqual(target.lines, ['warn {"a":1} first', "error {} second"]);
  });

  it("writes straight to the logger once attached", () => {
    const log = new DeferredLog();
    const target = recorder();
    log.attach(target);
    log.info({ leader: true }, "now");
    log.debug({}, "quiet");
    assert.deepEqual(target.lines, ['info {"leader":true} now', "debug {} quiet"]);
  });

  it("keeps only the newest 100 lines while unattached", () => {
    const log = new DeferredLog();
    for (let i = 0; i < 150; i++) log.info({}, `line ${i}`);
    const target = recorder();
    log.attach(target);
    assert.equal(target.lines.length, 100);
    assert.equal(target.lines[0], "info {} line 50");
  });
});

describe("warnTo", () => {
  it("logs a service's (message, error) warning with the error as err", () => {
    const target = recorder();
    const err = new Error("boom");
    warnTo(target)("the cache was unusable", err);
    assert.equal(target.lines.length, 1);
    assert.match(target.lines[0] as string, /^warn \{"err":\{\}\} the cache was unusable$/);
  });
});
