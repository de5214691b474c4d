import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { SecretStore } from "../../core/platform/secret-store.js";

/**
 * Two handles on one empty secret storage: two processes of one Styx (gateways sharing a
 * database, servers sharing a data dir), or the same store twice where the storage lives in
 * one process.
 */
export interface SecretStoreHarness {
  readonly stores: readonly [SecretStore, SecretStore];
  close?(): Promise<void>;
}

/** A secret as the server makes them: 32 random bytes, base64url. */
function secret(): string {
  return randomBytes(32).toString("base64url");
}

/** The behaviour every SecretStore must show; `make` returns handles on an empty storage. */
export function describeSecretStoreContract(name: string, make: () => Promise<SecretStoreHarness> | SecretStoreHarness): void {
  describe(`SecretStore contract: ${name}`, () => {
    it("stores a new secret the first time and returns that one ever after", async () => {
      const h = await make();
      const [a, b] = h.stores;
      const made = secret();
      assert.deepEqual(await a.loadOrCreate("lethe-salt", () => made), { value: made, created: true });
      assert.deepEqual(await a.loadOrCreate("lethe-salt", secret), { value: made, created: false });
      assert.deepEqual(await b.loadOrCreate("lethe-salt", secret), { value: made, created: false }, "the other handle reads it");
      await h.close?.();
    });

    it("keeps secrets apart by name", async () => {
      const h = await make();
      const [a] = h.stores;
      const x = await a.loadOrCreate("admin-token", secret);
      const y = await a.loadOrCreate("challenge-key", secret);
      assert.equal(y.created, true);
      assert.notEqual(x.value, y.value);
      assert.equal((await a.loadOrCreate("admin-token", secret)).value, x.value);
      await h.close?.();
    });

    it("lets the first writer win when both handles create a secret at once", async () => {
      const h = await make();
      const made = Array.from({ length: 10 }, secret);
      const got = await Promise.all(made.map((v, i) => (h.stores[i % 2] as SecretStore).loadOrCreate("raced", () => v)));
      assert.equal(got.filter((r) => r.created).length, 1, "one creator");
      const values = new Set(got.map((r) => r.value));
      assert.equal(values.size, 1, "everybody ends up with one value");
      assert.ok(made.includes([...values][0] as string), "the value is one that was made");
      assert.equal(got.find((r) => r.created)?.value, [...values][0], "the creator's value");
      await h.close?.();
    });

    it("says where a secret lives without showing its value", async () => {
      const h = await make();
      const [a] = h.stores;
      const { value } = await a.loadOrCreate("instance-id", secret);
      const where = a.where("instance-id");
      assert.ok(where.length > 0);
      assert.ok(!where.includes(value), "the place, never the value");
      await h.close?.();
    });
  });
}
