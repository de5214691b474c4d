import { type Static, Type } from "typebox";

/** Wire schemas shared by every area. Wire types are snake_case JSON; domain types live in core/. */

/** A client-chosen or generated identifier: letters, digits, `_`, `.`, `-`; no `:` (namespace separator). */
export const Id = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
  description: "Identifier (1–128 chars: A–Z a–z 0–9 _ . -)",
});

/** A 0x-prefixed 20-byte EVM address (any case; stored lowercase). */
export const WalletAddress = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", description: "EVM address" });

/**
 * Upper bounds for integers the server stores or compares with stored ones: a PostgreSQL
 * `integer` column (generations, counts), and what a JSON number holds exactly (seqs, ticks; a
 * SQLite INTEGER and a PostgreSQL bigint hold it). Without them `1e20` reaches the store and fails
 * there, and a query string's `1e999` is coerced to Infinity, which no other check refuses.
 */
export const MAX_INT32 = 2_147_483_647;
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** An ISO-8601 UTC timestamp. */
export const IsoTime = Type.String({ format: "date-time" });

/** A regex for a comma-separated list of `item`s (query-string lists). */
export const listPattern = (item: string) => `^${item}(,${item})*$`;

/** A nullable value. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** The one error shape: `{ error: { code, message, details? } }`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "Stable STYX_* code (docs/errors.md)" }),
      message: Type.String(),
      request_id: Type.Optional(Type.String()),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: "StyxError", description: "Error response" },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Path parameter `:user_id`. */
export const UserIdParams = Type.Object({ user_id: Id }, { additionalProperties: false });
/** Path parameter `:golem_id`. */
export const GolemIdParams = Type.Object({ golem_id: Id }, { additionalProperties: false });
/** Path parameter `:key_id`. */
export const KeyIdParams = Type.Object({ key_id: Id }, { additionalProperties: false });
