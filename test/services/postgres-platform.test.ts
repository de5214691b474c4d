import { after } from "node:test";
import { migratePostgres, openPostgres } from "../../src/adapters/postgres/database.js";
import { PostgresCredit } from "../../src/adapters/postgres/postgres-credit.js";
import { PostgresLeadership } from "../../src/adapters/postgres/postgres-leadership.js";
import { PostgresMarketplaceStore } from "../../src/adapters/postgres/postgres-marketplace-store.js";
import { PostgresPaymentLedger } from "../../src/adapters/postgres/postgres-payment-ledger.js";
import { PostgresQuotaStore } from "../../src/adapters/postgres/postgres-quota-store.js";
import { PostgresSecretStore } from "../../src/adapters/postgres/postgres-secret-store.js";
import { describeCreditContract } from "../../src/testing/contracts/credit.contract.js";
import { describeLeadershipContract } from "../../src/testing/contracts/leadership.contract.js";
import { describeMarketplaceStoreContract } from "../../src/testing/contracts/marketplace-store.contract.js";
import { describePaymentLedgerContract } from "../../src/testing/contracts/payment-ledger.contract.js";
import { describeQuotaStoreContract } from "../../src/testing/contracts/quota-store.contract.js";
import { describeSecretStoreContract } from "../../src/testing/contracts/secret-store.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

const schema = newCluster();
/** Two pools on one schema stand for two gateways of one cluster. */
const sql = openPostgres(SERVICES.databaseUrl, { schema, max: 3 });
const other = openPostgres(SERVICES.databaseUrl, { schema, max: 3 });
await migratePostgres(sql, schema);

after(async () => {
  await sql`DROP SCHEMA ${sql(schema)} CASCADE`;
  await Promise.all([sql.end(), other.end()]);
});

describeSecretStoreContract("postgres (two gateways)", async () => {
  await sql`TRUNCATE server_secrets`;
  return { stores: [new PostgresSecretStore(sql, schema), new PostgresSecretStore(other, schema)] };
});

describeQuotaStoreContract("postgres (two gateways)", async () => {
  await sql`TRUNCATE user_quotas`;
  return [new PostgresQuotaStore(sql), new PostgresQuotaStore(other)];
});

describeCreditContract("postgres (two gateways)", async () => {
  await sql`TRUNCATE credit_balances, key_spend_limits`;
  return [new PostgresCredit(sql), new PostgresCredit(other)];
});

describePaymentLedgerContract("postgres (two gateways)", async () => {
  await sql`TRUNCATE payments, credit_balances`;
  return [new PostgresPaymentLedger(sql), new PostgresPaymentLedger(other), new PostgresCredit(sql)];
});

// A lease per test (its own advisory-lock key); each candidate holds its own connection, as a gateway does.
describeLeadershipContract(
  "postgres advisory lock",
  () => {
    const key = `styx-leader:${newCluster()}`;
    return () => new PostgresLeadership({ url: SERVICES.databaseUrl, key, campaignMs: 100 });
  },
  { exclusive: true, withinMs: 5000 },
);

describeMarketplaceStoreContract("postgres (two gateways)", async () => {
  await sql`TRUNCATE market_listings, market_purchases, market_ratings, market_payouts`;
  return [new PostgresMarketplaceStore(sql), new PostgresMarketplaceStore(other)];
});
