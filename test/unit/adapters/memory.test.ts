import { LocalEventBus } from "../../../src/adapters/memory/local-event-bus.js";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { MemoryCredit } from "../../../src/adapters/memory/memory-credit.js";
import { MemoryMarketplaceStore } from "../../../src/adapters/memory/memory-marketplace-store.js";
import { MemoryPaymentLedger } from "../../../src/adapters/memory/memory-payment-ledger.js";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { MemoryPulseStore } from "../../../src/adapters/memory/memory-pulse-store.js";
import { MemoryRateLimiter } from "../../../src/adapters/memory/memory-rate-limiter.js";
import { MemorySocketCounts } from "../../../src/adapters/memory/memory-socket-counts.js";
import { MemoryUsageCounters } from "../../../src/adapters/memory/memory-usage-counters.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEventLog } from "../../../src/adapters/sqlite/sqlite-event-log.js";
import { TieredHistory } from "../../../src/core/fabric/tiered-history.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { describeAuditLogContract } from "../../../src/testing/contracts/audit-log.contract.js";
import { describeCreditContract } from "../../../src/testing/contracts/credit.contract.js";
import { describeEventBusContract } from "../../../src/testing/contracts/event-bus.contract.js";
import { describeMarketplaceStoreContract } from "../../../src/testing/contracts/marketplace-store.contract.js";
import { describePaymentLedgerContract } from "../../../src/testing/contracts/payment-ledger.contract.js";
import { describePresenceContract } from "../../../src/testing/contracts/presence.contract.js";
import { describePulseStoreContract } from "../../../src/testing/contracts/pulse-store.contract.js";
import { describeRateLimiterContract } from "../../../src/testing/contracts/rate-limiter.contract.js";
import { describeSocketCountsContract } from "../../../src/testing/contracts/socket-counts.contract.js";
import { describeUsageCountersContract } from "../../../src/testing/contracts/usage-counters.contract.js";

await initCrypto();
describeAuditLogContract("memory", (key) => ({ log: new MemoryAuditLog(new ManualClock(), key) }));
describeRateLimiterContract("memory", (clock) => new MemoryRateLimiter(clock));
describeSocketCountsContract("memory", (clock) => new MemorySocketCounts(clock));
describeUsageCountersContract("memory", (clock) => new MemoryUsageCounters(clock));
describePresenceContract("memory", () => new MemoryPresence());
describeEventBusContract("LocalEventBus over TieredHistory (SQLite in RAM)", async () => {
  // The micronode's composition: the bus sequences through the tiered history it is given.
  const db = openDatabase(":memory:");
  const history = new TieredHistory({ log: new SqliteEventLog(db), blobs: new MemoryBlobStore(), clock: new ManualClock() });
  await history.open();
  const close = async () => {
    if (db.open) db.close();
  };
  return { bus: new LocalEventBus(history), history, sever: close, close };
});

describePulseStoreContract("memory", () => {
  const store = new MemoryPulseStore();
  return [store, store];
});

describeCreditContract("memory", async () => {
  const store = new MemoryCredit();
  return [store, store];
});
describePaymentLedgerContract("memory", async () => {
  const credit = new MemoryCredit();
  const ledger = new MemoryPaymentLedger(credit);
  return [ledger, ledger, credit];
});

describeMarketplaceStoreContract("memory", async () => {
  const store = new MemoryMarketplaceStore();
  return [store, store];
});
