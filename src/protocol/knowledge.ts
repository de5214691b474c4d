import { type Static, Type } from "typebox";
import { DOMAIN_PATTERN } from "../core/fabric/streams.js";
import { CATEGORIES, LAYERS } from "../core/knowledge/types.js";
import { BLOB_CID_PATTERN } from "../core/platform/blob-store.js";
import { Id, IsoTime, listPattern, Nullable } from "./common.js";

const Strict = { additionalProperties: false } as const;
const Layer = Type.Union(LAYERS.map((l) => Type.Literal(l)));
const Category = Type.Union(CATEGORIES.map((c) => Type.Literal(c)));
/** A knowledge domain: a short lowercase token such as `defi.lending`. */
export const Domain = Type.String({ pattern: DOMAIN_PATTERN, description: "Domain (lowercase token, ≤ 64 chars)" });
const Unit = Type.Number({ minimum: 0, maximum: 1 });
const Signed = Type.Number({ minimum: -1, maximum: 1 });

/** An embedding of the configured dimension. */
export const Embedding = (dim: number) =>
  Type.Array(Type.Number(), { minItems: dim, maxItems: dim, description: `${dim} finite numbers (normalised server-side)` });

/** `POST /v1/styx/entries` body (SPEC §4.1). */
export const WriteEntryBody = (dim: number) =>
  Type.Object(
    {
      golem_id: Id,
      layer: Layer,
      category: Category,
      content: Type.String({ minLength: 1, maxLength: 65_536, description: "Text, ≤ 64 KiB of UTF-8" }),
      content_blob: Type.Optional(
        Type.String({ pattern: BLOB_CID_PATTERN, description: "A blob of yours with the full content (then `content` is its summary)" }),
      ),
      embedding: Type.Optional(Embedding(dim)),
      domain: Type.Optional(Domain),
      regime: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      confidence: Type.Optional(Unit),
      affect: Type.Optional(Type.Object({ pleasure: Signed, arousal: Signed, dominance: Signed }, Strict)),
      emotion: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
      ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400 })),
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true, description: "JSON object, ≤ 4 KiB" })),
      idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    },
    Strict,
  );
export type WriteEntryBody = Static<ReturnType<typeof WriteEntryBody>>;

/** `POST /v1/styx/entries` answer. */
export const WriteEntryAnswer = Type.Object({
  id: Type.String(),
  namespaces: Type.Array(Type.String()),
  lethe_at: Type.Optional(
    Type.String({
      format: "date-time",
      description: "When the anonymized lethe copy publishes (absent when none was queued, or while it waits)",
    }),
  ),
  lethe: Type.Optional(
    Type.Literal("waiting", {
      description: "The lethe copy is queued but its domain has fewer than STYX_LETHE_K distinct users: no publication time yet",
    }),
  ),
  public: Type.Optional(
    Type.Object(
      { refused: Type.Literal("not_publishable") },
      {
        description:
          "Present when the entry asked for lethe but its public copy may not be published (a domain, regime or metadata value outside the closed grammar, or holding an identifier); the private copies are kept.",
      },
    ),
  ),
});

/** Most entries in one batch write. */
export const MAX_BATCH = 256;

/** `POST /v1/styx/entries/batch` body: entries written in one transaction. */
export const WriteEntriesBody = (dim: number) =>
  Type.Object({ entries: Type.Array(WriteEntryBody(dim), { minItems: 1, maxItems: MAX_BATCH }) }, Strict);
export type WriteEntriesBody = Static<ReturnType<typeof WriteEntriesBody>>;

/** `POST /v1/styx/entries/batch` answer: one result per entry, in order. */
export const WriteEntriesAnswer = Type.Object({ results: Type.Array(WriteEntryAnswer) });

/** `POST /v1/styx/query` body (SPEC §4.3). */
export const QueryBody = (dim: number) =>
  Type.Object(
    {
      query: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
      embedding: Type.Optional(Embedding(dim)),
      layers: Type.Optional(Type.Array(Layer, { minItems: 1, maxItems: 3, uniqueItems: true })),
      domains: Type.Optional(Type.Array(Domain, { minItems: 1, maxItems: 32, uniqueItems: true })),
      categories: Type.Optional(Type.Array(Category, { minItems: 1, maxItems: CATEGORIES.length, uniqueItems: true })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
      explain: Type.Optional(Type.Boolean()),
    },
    Strict,
  );
export type QueryBody = Static<ReturnType<typeof QueryBody>>;

const list = listPattern;
const LAYER_RE = `(${LAYERS.join("|")})`;
const CATEGORY_RE = `(${CATEGORIES.join("|")})`;

/** `GET /v1/styx/query` query string: the same fields, lists comma-separated. */
export const QueryParams = Type.Object(
  {
    query: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    embedding: Type.Optional(Type.String({ pattern: list("-?[0-9.eE+-]+"), maxLength: 65_536, description: "comma-separated numbers" })),
    layers: Type.Optional(Type.String({ pattern: list(LAYER_RE) })),
    domains: Type.Optional(Type.String({ pattern: list("[a-z0-9][a-z0-9_.-]{0,63}"), maxLength: 2100 })),
    categories: Type.Optional(Type.String({ pattern: list(CATEGORY_RE) })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    explain: Type.Optional(Type.Boolean()),
  },
  Strict,
);
export type QueryParams = Static<typeof QueryParams>;

const Explain = Type.Object({
  semantic: Type.Number(),
  temporal: Type.Number(),
  quality: Type.Number(),
  provenance: Type.Number(),
  bloodstain: Type.Number(),
  layer_weight: Type.Number(),
});

/** One ranked hit. */
export const Hit = Type.Object({
  id: Type.String(),
  layer: Layer,
  namespace: Type.String(),
  score: Type.Number(),
  content: Type.String(),
  category: Category,
  domain: Nullable(Type.String()),
  regime: Nullable(Type.String()),
  confidence: Type.Number(),
  is_bloodstain: Type.Boolean(),
  created_at: IsoTime,
  explain: Type.Optional(Explain),
});

/** `/v1/styx/query` answer: best first. */
export const QueryAnswer = Type.Object({ hits: Type.Array(Hit) });

/** `GET /v1/styx/snapshot/:golem_id` query string. */
export const SnapshotParams = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal("ndjson"), Type.Literal("json")], { description: "ndjson (default, streamed) or json (paged)" }),
    ),
    after: Type.Optional(
      Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$", description: "json paging cursor (next_after of the previous page: an entry id)" }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  Strict,
);
export type SnapshotParams = Static<typeof SnapshotParams>;

/** One vault entry in a snapshot. */
export const SnapshotEntry = Type.Object({
  id: Type.String(),
  golem_id: Type.String(),
  category: Category,
  content: Type.String(),
  content_hash: Type.String({ description: "b3:<hex> of the content" }),
  content_blob: Nullable(Type.String()),
  namespaces: Type.Array(Type.String()),
  domain: Nullable(Type.String()),
  regime: Nullable(Type.String()),
  confidence: Type.Number(),
  affect: Nullable(Type.Object({ pleasure: Type.Number(), arousal: Type.Number(), dominance: Type.Number() })),
  emotion: Nullable(Type.String()),
  metadata: Type.Object({}, { additionalProperties: true }),
  embedding: Nullable(Type.Array(Type.Number())),
  is_bloodstain: Type.Boolean(),
  created_at: IsoTime,
  expires_at: Nullable(IsoTime),
});

/** A paged JSON snapshot. */
export const SnapshotPage = Type.Object({ entries: Type.Array(SnapshotEntry), next_after: Nullable(Type.String()) });
