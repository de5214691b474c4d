import { type Static, Type } from "typebox";
import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_METADATA_FILTERS,
  MAX_METADATA_KEY,
  MAX_METADATA_VALUE,
} from "../core/knowledge/entry-service.js";
import { CATEGORIES } from "../core/knowledge/types.js";
import { Id } from "./common.js";
import { Domain, SnapshotEntry } from "./knowledge.js";

/** Wire schemas of one entry at a time (SPEC §4.1): get, list, delete, validate. */

const Strict = { additionalProperties: false } as const;

/** Path parameter `:id` of an entry (or, to validate, of a lethe entry). */
export const EntryIdParams = Type.Object({ id: Id }, Strict);
export type EntryIdParams = Static<typeof EntryIdParams>;

/** The prefix of a metadata filter's query parameter: `metadata.<key>=<value>`. */
export const METADATA_PARAM_PREFIX = "metadata.";

/**
 * `GET /v1/styx/entries` query string. Besides the named fields, up to 8 `metadata.<key>=<value>`
 * parameters (key 1–64 characters, value ≤ 256, no control characters); anything else is refused.
 */
export const ListEntriesParams = Type.Object(
  {
    golem_id: Type.Optional(Id),
    layer: Type.Optional(
      Type.Union([Type.Literal("vault"), Type.Literal("clade")], { description: "vault: every entry; clade: promoted ones" }),
    ),
    category: Type.Optional(Type.Union(CATEGORIES.map((c) => Type.Literal(c)))),
    domain: Type.Optional(Domain),
    created_after: Type.Optional(Type.String({ format: "date-time", maxLength: 64, description: "Created strictly after (ISO time)" })),
    created_before: Type.Optional(Type.String({ format: "date-time", maxLength: 64, description: "Created strictly before (ISO time)" })),
    cursor: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "next_cursor of the previous page (opaque)" })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_LIST_LIMIT,
        description: `Entries per page (default ${DEFAULT_LIST_LIMIT}, at most ${MAX_LIST_LIMIT})`,
      }),
    ),
  },
  {
    ...Strict,
    maxProperties: 8 + MAX_METADATA_FILTERS,
    patternProperties: {
      [`^metadata\\.[^\\u0000-\\u001f]{1,${MAX_METADATA_KEY}}$`]: Type.String({
        maxLength: MAX_METADATA_VALUE,
        pattern: "^[^\\u0000-\\u001f]*$",
        description: "metadata.<key>=<value>: the entry's top-level metadata value (a string, or a number or boolean written as text)",
      }),
    },
  },
);
export type ListEntriesParams = Static<typeof ListEntriesParams>;

/** One of the caller's entries, as stored (a snapshot entry, with its validation counts). */
export const EntryView = Type.Object({
  ...SnapshotEntry.properties,
  validations: Type.Integer(),
  contradictions: Type.Integer(),
});

/** A page of `GET /v1/styx/entries`, oldest first; `next_cursor` is null on the last page. */
export const EntryPage = Type.Object({ entries: Type.Array(EntryView), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** `DELETE /v1/styx/entries/:id` answer. */
export const DeleteEntryAnswer = Type.Object({
  id: Type.String(),
  deleted: Type.Array(Type.String(), { description: "The namespaces the entry left (vault, and clade if promoted)" }),
  lethe: Type.Union([Type.Literal("kept_anonymized"), Type.Literal("none")], {
    description: "kept_anonymized: its anonymized copy was already public and stays; none: no copy, or the queued one was removed",
  }),
});

/** `POST /v1/styx/entries/:id/validate` body. */
export const ValidateEntryBody = Type.Object(
  {
    golem_id: Id,
    agrees: Type.Boolean({ description: "true: a validation; false: a contradiction" }),
  },
  Strict,
);
export type ValidateEntryBody = Static<typeof ValidateEntryBody>;

/** `POST /v1/styx/entries/:id/validate` answer. */
export const ValidateEntryAnswer = Type.Object({
  id: Type.String(),
  layer: Type.Union([Type.Literal("vault"), Type.Literal("clade"), Type.Literal("lethe")]),
  validations: Type.Integer(),
  contradictions: Type.Integer(),
  counted: Type.Boolean({ description: "false when this golem (lethe: this user) had already voted: a voter counts once" }),
});
