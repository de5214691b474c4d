import { ManualClock, systemClock } from "../../../src/core/platform/clock.js";
import { SoleLeadership } from "../../../src/core/platform/leadership.js";
import { describeClockContract } from "../../../src/testing/contracts/clock.contract.js";
import { describeLeadershipContract } from "../../../src/testing/contracts/leadership.contract.js";

describeClockContract("system clock", () => systemClock);
describeClockContract("manual clock", () => new ManualClock());
describeLeadershipContract("sole (one process)", () => () => new SoleLeadership(), { exclusive: false, withinMs: 100 });
