import { createKey, listKeys, revokeKey } from "../app/offline.js";
import { SCOPES, type Scope } from "../core/identity/types.js";
import { systemClock } from "../core/platform/clock.js";
import { presentKey } from "../server/presenters/identity.js";
import { CliError, configFrom, parse, required } from "./args.js";

export const KEYS_HELP = `styx keys create --user USER --name NAME [--scopes read,write] [--golem GOLEM] [--expires ISO-TIME]
styx keys list --user USER
styx keys revoke KEY_ID
  Manages API keys in the local store. The secret is printed once, at creation.`;

/** `styx keys create|list|revoke`. */
export async function keys(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    user: { type: "string" },
    name: { type: "string" },
    scopes: { type: "string" },
    golem: { type: "string" },
    expires: { type: "string" },
  });
  const sub = positionals[0];
  if (values.help || !sub || !["create", "list", "revoke"].includes(sub)) return (console.log(KEYS_HELP), values.help ? 0 : 2);
  const config = configFrom(values);
  if (sub === "create") {
    const userId = required(values, "user");
    const name = required(values, "name");
    const scopes = values.scopes?.split(",").map((s) => s.trim());
    if (scopes?.some((s) => !SCOPES.includes(s as Scope))) throw new CliError(`--scopes takes ${SCOPES.join(",")}`, 2);
    const expiresAt = values.expires === undefined ? undefined : Date.parse(values.expires);
    if (expiresAt !== undefined && Number.isNaN(expiresAt)) throw new CliError("--expires must be an ISO-8601 time", 2);
    const { key, secret } = await createKey(config, userId, {
      name,
      scopes: scopes as Scope[] | undefined,
      golemId: values.golem,
      expiresAt,
    });
    console.log(JSON.stringify({ id: key.id, key: secret }));
    return 0;
  }
  if (sub === "list") {
    const userId = required(values, "user");
    const list = await listKeys(config, userId);
    const now = systemClock.now();
    console.log(JSON.stringify({ keys: list.map((k) => presentKey(k, now)) }));
    return 0;
  }
  const keyId = positionals[1];
  if (!keyId) throw new CliError("usage: styx keys revoke KEY_ID", 2);
  const key = await revokeKey(config, keyId);
  console.log(JSON.stringify(presentKey(key, systemClock.now())));
  return 0;
}
