import { createUser } from "../app/offline.js";
import { TIERS, type Tier } from "../core/identity/types.js";
import { CliError, configFrom, parse } from "./args.js";

export const USERS_HELP = `styx users create [--id ID] [--wallet 0x…] [--tier ${TIERS.join("|")}] [--data-dir DIR]
  Creates a user in the local store and prints {"id": …}.`;

/** `styx users create`. */
export async function users(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { id: { type: "string" }, wallet: { type: "string" }, tier: { type: "string" } });
  if (values.help || positionals[0] !== "create") return (console.log(USERS_HELP), values.help ? 0 : 2);
  if (values.tier !== undefined && !TIERS.includes(values.tier as Tier)) throw new CliError(`--tier must be one of ${TIERS.join(", ")}`, 2);
  if (values.wallet !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(values.wallet)) throw new CliError("--wallet must be a 0x address", 2);
  if (values.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(values.id))
    throw new CliError("--id may use A–Z a–z 0–9 _ . - (1–128 chars)", 2);
  const config = configFrom(values);
  const user = await createUser(config, { id: values.id, walletAddress: values.wallet, tier: values.tier as Tier | undefined });
  console.log(JSON.stringify({ id: user.id, tier: user.tier, wallet_address: user.walletAddress }));
  return 0;
}
