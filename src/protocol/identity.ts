import { type Static, Type } from "typebox";
import { GOLEM_STATUSES, SCOPES, TIERS } from "../core/identity/types.js";
import { Id, IsoTime, Nullable, WalletAddress } from "./common.js";
import { DeathFacts } from "./coordination.js";
import { SpendLimitBody } from "./payments.js";

const Strict = { additionalProperties: false } as const;

/** The EIP-4361 (Sign-In with Ethereum) message of `POST /v1/auth/challenge`, exactly as returned. */
const SignInMessage = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "The EIP-4361 message of POST /v1/auth/challenge, unchanged",
});

/** A 65-byte secp256k1 signature `r ‖ s ‖ v`, canonical: low s, v 27 or 28 (EIP-2). */
const Signature = Type.String({
  pattern: "^0x[0-9a-fA-F]{130}$",
  description: "personal_sign (EIP-191) of the message: 65 bytes hex, low s, v 27 or 28 (EIP-2)",
});
const Tier = Type.Union(TIERS.map((t) => Type.Literal(t)));
const Scope = Type.Union(SCOPES.map((s) => Type.Literal(s)));

/** `POST /v1/admin/users` body. */
export const CreateUserBody = Type.Object(
  { id: Type.Optional(Id), wallet_address: Type.Optional(WalletAddress), tier: Type.Optional(Tier) },
  Strict,
);
export type CreateUserBody = Static<typeof CreateUserBody>;

/** `POST /v1/admin/users` answer. */
export const CreatedUser = Type.Object({ id: Type.String() });

/** A user as presented. */
export const UserView = Type.Object({
  id: Type.String(),
  wallet_address: Nullable(Type.String()),
  reputation: Type.Integer(),
  tier: Tier,
  created_at: IsoTime,
  updated_at: IsoTime,
});

/** `POST /v1/admin/users/:user_id/keys` body. */
export const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Optional(Type.Array(Scope, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true })),
    golem_id: Type.Optional(Id),
    expires_at: Type.Optional(IsoTime),
    spend_limit: Type.Optional(SpendLimitBody),
  },
  Strict,
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

/** `POST /v1/admin/users/:user_id/keys` answer: the only time the secret is shown. */
export const CreatedKey = Type.Object({ id: Type.String(), key: Type.String({ description: "The secret; shown once" }) });

/** A key as listed: never the secret or its hash. */
export const KeyView = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  golem_id: Nullable(Type.String()),
  name: Type.String(),
  scopes: Type.Array(Scope),
  status: Type.Union([Type.Literal("active"), Type.Literal("revoked"), Type.Literal("expired")]),
  created_at: IsoTime,
  expires_at: Nullable(IsoTime),
  revoked_at: Nullable(IsoTime),
});

/** `GET /v1/admin/users/:user_id/keys` answer. */
export const KeyList = Type.Object({ keys: Type.Array(KeyView) });

/** `POST /v1/styx/golems` body. */
export const RegisterGolemBody = Type.Object(
  {
    id: Type.Optional(Id),
    parent_golem_id: Type.Optional(Id),
    archetype: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    wallet_address: Type.Optional(WalletAddress),
    wallet_proof: Type.Optional(
      Type.Object(
        { message: SignInMessage, signature: Signature },
        {
          ...Strict,
          description:
            "Proof of control of wallet_address: the EIP-4361 message of a /v1/auth/challenge for it, signed by the golem's wallet",
        },
      ),
    ),
  },
  Strict,
);
export type RegisterGolemBody = Static<typeof RegisterGolemBody>;

/** `POST /v1/styx/golems` answer. */
export const RegisteredGolem = Type.Object({ id: Type.String(), generation: Type.Integer() });

/** A golem as presented to its owner. */
export const GolemView = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  generation: Type.Integer(),
  parent_golem_id: Nullable(Type.String()),
  status: Type.Union(GOLEM_STATUSES.map((s) => Type.Literal(s))),
  archetype: Nullable(Type.String()),
  wallet_address: Nullable(Type.String()),
  created_at: IsoTime,
  died_at: Nullable(IsoTime),
  death_cause: Nullable(Type.String()),
  ticks_lived: Type.Integer(),
});

/** `GET /v1/styx/golems/:golem_id`: the golem, its age and, once dead, what its death record tells. */
export const GolemDetailView = Type.Object({
  ...GolemView.properties,
  age_seconds: Type.Integer({ description: "Since registration (to its death, once dead)" }),
  death: Nullable(Type.Object({ died_at: IsoTime, death_cause: Type.String(), ticks_lived: Type.Integer(), ...DeathFacts })),
});

/** `GET /v1/styx/users/:user_id/golems` answer. */
export const GolemList = Type.Object({ golems: Type.Array(GolemView) });

/** `GET /v1/styx/me` answer: who the credential is. */
export const WhoAmI = Type.Object({
  user_id: Type.String(),
  golem_id: Nullable(Type.String()),
  credential: Type.Object({
    id: Type.String(),
    via: Type.Union([Type.Literal("api_key"), Type.Literal("session")]),
    scopes: Type.Array(Scope),
  }),
});

/** `POST /v1/auth/challenge` body. */
export const ChallengeBody = Type.Object({ wallet_address: WalletAddress }, Strict);
export type ChallengeBody = Static<typeof ChallengeBody>;

/** `POST /v1/auth/challenge` answer: sign `message` (EIP-4361) with the wallet (EIP-191 personal_sign). */
export const Challenge = Type.Object({
  nonce: Type.String(),
  message: Type.String({ description: "EIP-4361 (Sign-In with Ethereum) message: domain and URI of STYX_PUBLIC_URL, STYX_CHAIN_ID" }),
  expires_at: IsoTime,
});

/** `POST /v1/auth/verify` body: the challenge's message and its signature. */
export const VerifyBody = Type.Object({ message: SignInMessage, signature: Signature }, Strict);
export type VerifyBody = Static<typeof VerifyBody>;

/** `POST /v1/auth/verify` answer: a short-lived bearer token. */
export const SessionToken = Type.Object({
  token: Type.String(),
  token_type: Type.Literal("Bearer"),
  user_id: Type.String(),
  golem_id: Nullable(Type.String()),
  expires_at: IsoTime,
});

/** A wallet session as listed: never the token or its hash. */
export const SessionView = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  golem_id: Nullable(Type.String()),
  created_at: IsoTime,
  expires_at: IsoTime,
  current: Type.Boolean({ description: "Whether this is the session the request came with" }),
});

/** `GET /v1/auth/sessions` answer. */
export const SessionList = Type.Object({ sessions: Type.Array(SessionView) });

/** Path parameter `:session_id`. */
export const SessionIdParams = Type.Object({ session_id: Id }, Strict);

/** `GET /v1/styx/erasures/:job_id` and `/v1/admin/erasures/:job_id` params. */
export const ErasureJobParams = Type.Object({ job_id: Id }, Strict);

/** An erasure job (SPEC §3): `state` running until every step is done; `step` counts the steps done. */
export const ErasureJobView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal("golem"), Type.Literal("user")]),
  state: Type.Union([Type.Literal("running"), Type.Literal("done")]),
  step: Type.Integer(),
  steps: Type.Array(Type.String()),
  keeps: Type.Array(Type.String(), { description: "What the erasure keeps by design (SPEC §3)" }),
  created_at: IsoTime,
  updated_at: IsoTime,
  finished_at: Nullable(IsoTime),
});

/** `GET /v1/styx/export` answer: NDJSON, one record a line with its `type` (user, golem, api_key, entry, death, achievement, blob). */
export const ExportLines = Type.String({ description: "NDJSON: one JSON record a line, each with a `type`" });
