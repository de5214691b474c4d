import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { IdentityService } from "../../../src/core/identity/identity-service.js";
import type { IdentityRecordIds } from "../../../src/core/identity/identity-store.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { IdentifierFeed } from "../../../src/core/privacy/identifier-feed.js";
import { scrubNow } from "../../../src/core/privacy/scrub.js";

describe("IdentifierFeed", () => {
  it("learns records created by the identity service at once, and those made elsewhere at the next refresh", async () => {
    await initCrypto();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SqliteIdentityStore(openDatabase(":memory:"));
    const directory = new IdentifierDirectory();
    const feed = new IdentifierFeed({ store, directory, clock });
    const identity = new IdentityService({
      store,
      audit: { append: async () => ({}) as never },
      clock,
      onIdentifiers: (r: IdentityRecordIds[]) => feed.add(r),
    });
    await feed.refresh();
    await identity.createUser("admin", { id: "owner-0001", walletAddress: "0x52908400098527886E0F7030069857D2E4169EE7" });
    const hidden = (text: string) => scrubNow(text, directory, { userId: null }).includes("[id]");
    assert.ok(hidden("owner-0001 wrote"), "created through the service: known at once");
    assert.ok(hidden("paid 0x52908400098527886e0f7030069857d2e4169ee7"));
    // Another process (the CLI, another gateway) writes to the store directly.
    clock.advance(1_000);
    await store.createUser({
      id: "cli-made-42",
      walletAddress: null,
      reputation: 0,
      tier: "observer",
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    assert.ok(!hidden("cli-made-42 wrote"));
    await feed.refresh();
    assert.ok(hidden("cli-made-42 wrote"), "learnt at the next refresh");
  });
});
