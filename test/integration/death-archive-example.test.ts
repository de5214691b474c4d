import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey } from "viem/accounts";
import { deathArchive } from "../../examples/death-archive.js";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("examples/death-archive.ts (SPEC §16)", () => {
  let facilitator: FakeFacilitator;
  let s: TestServer;
  before(async () => {
    facilitator = await startFakeFacilitator();
    s = await startTestServer({
      persistent: true,
      env: {
        STYX_PRICING: "1",
        STYX_MARKETPLACE: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: "0x2222222222222222222222222222222222222222",
        STYX_X402_FACILITATOR_URL: facilitator.url,
      },
    });
  });
  after(async () => {
    await s.close();
    await facilitator.close();
  });

  it("runs as written: a golem dies, its owner lists the archive, another user's golem buys and decrypts it", async () => {
    const seller = await s.user();
    const buyer = await s.user();
    const lines: string[] = [];
    const r = await deathArchive({
      url: s.url,
      sellerKey: seller.key,
      buyerKey: buyer.key,
      sellerWallet: generatePrivateKey(),
      buyerWallet: generatePrivateKey(),
      log: (l) => lines.push(l),
    });
    assert.deepEqual(r.archive, {
      golem_generation: 0,
      lessons: ["funding rates lead liquidations by hours", "thin books punish size before news does"],
      testament: "Hold less when everyone agrees.",
    });
    assert.ok(
      lines.some((l) => l.includes("0.2625")),
      "price + ⌈5 %⌉ announced",
    );
    const shown = await s.request("GET", `/v1/styx/marketplace/listings/${r.listingId}`);
    assert.equal(shown.json.kind, "death_archive");
    assert.equal(shown.json.provenance.generation, 0);
    assert.equal(shown.json.purchases, 1);
    assert.ok(!shown.text.includes(r.golemId), "a death archive never shows its golem id");
    assert.ok(!shown.text.includes(seller.id) && !shown.text.includes(buyer.id));
  });
});
