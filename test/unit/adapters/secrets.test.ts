import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileSecrets, memorySecrets } from "../../../src/app/secrets.js";
import { describeSecretStoreContract } from "../../../src/testing/contracts/secret-store.contract.js";

describeSecretStoreContract("memory (amnesia)", () => {
  const s = memorySecrets();
  return { stores: [s, s] };
});

describeSecretStoreContract("0600 files in a data dir", () => {
  // Two stores on one directory stand for two servers started on the same data dir.
  const dir = mkdtempSync(join(tmpdir(), "styx-secrets-"));
  return { stores: [fileSecrets(dir), fileSecrets(dir)], close: async () => rmSync(dir, { recursive: true, force: true }) };
});
