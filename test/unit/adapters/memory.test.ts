import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { describeAuditLogContract } from "../../../src/testing/contracts/audit-log.contract.js";
import { describePresenceContract } from "../../../src/testing/contracts/presence.contract.js";
import { describeRateLimiterContract } from "../../../src/testing/contracts/rate-limiter.contract.js";

await initCrypto();
describeAuditLogContract("memory", (key) => ({ log: new MemoryAuditLog(new ManualClock(), key) }));
describeRateLimiterContract("memory", (clock) => new MemoryRateLimiter(clock));
describePresenceContract("memory", () => new MemoryPresence());
