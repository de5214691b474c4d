/**
 * Tenant noninterference as a property (SPEC §4.2, issue 14 item 9): for a user B, every answer
 * — queries lexical, vector and fused, with and without explain, with list filters, and the
 * snapshot reads — is byte-identical whether or not another user A has written to A's vault
 * and clade before, between and after B's writes. Runs KnowledgeService over a real EntryStore
 * (the caller opens one per world) and compares the JSON the presenters give clients.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ExactVectorIndex } from "../adapters/memory/exact-vector-index.js";
import type { Golem } from "../core/identity/types.js";
import type { EntryStore } from "../core/knowledge/entry-store.js";
import { KnowledgeService, type WriteEntryInput } from "../core/knowledge/knowledge-service.js";
import type { QueryInput } from "../core/knowledge/query.js";
import type { Category, Layer } from "../core/knowledge/types.js";
import { VectorSearch } from "../core/knowledge/vector-search.js";
import { ManualClock } from "../core/platform/clock.js";
import { SecretKey } from "../core/platform/secret-key.js";
import { IdentifierDirectory } from "../core/privacy/directory.js";
import { PublicPipeline } from "../core/privacy/public-pipeline.js";
import { presentQueryAnswer, presentSnapshotEntry, presentSnapshotPage } from "../server/presenters/knowledge.js";
import { aliveGolem } from "./core-kit.js";

/** A fresh, empty store for one world, and how to dispose of it. */
export type OpenStore = () => Promise<{ readonly store: EntryStore; close(): Promise<void> }>;

const DIM = 4;
const START = Date.UTC(2026, 0, 1);
/** A small vocabulary, so both users' texts share terms (and BM25 statistics would mix). */
const WORDS = ["oracle", "slippage", "pool", "hedge", "drift", "yield", "gas"] as const;
const CATEGORIES: readonly Category[] = ["insight", "warning", "heuristic"];
const DOMAINS = ["dex", "lending"] as const;

interface WriteSpec {
  readonly golem: 0 | 1;
  readonly layer: "vault" | "clade";
  readonly category: Category;
  readonly words: readonly number[];
  readonly domain: string | null;
  readonly confidence: number;
  /** Small integers, so cosine ties are common. */
  readonly embedding: readonly number[] | null;
  readonly ttlSeconds: number | null;
  readonly advanceMs: number;
}

interface QuerySpec {
  readonly words: readonly number[];
  readonly unknownWord: boolean;
  readonly embedding: readonly number[] | null;
  readonly layers: readonly Layer[] | undefined;
  readonly domains: readonly string[] | undefined;
  readonly categories: readonly Category[] | undefined;
  readonly limit: number;
  readonly explain: boolean;
  /** Which of B's golems asks (null: the user's own key). */
  readonly as: 0 | 1 | null;
}

/** B's writes, A's writes each placed before B's write `slot` (or after all), B's queries and snapshot page size. */
export interface Scenario {
  readonly b: readonly WriteSpec[];
  readonly a: readonly (WriteSpec & { readonly slot: number })[];
  readonly queries: readonly QuerySpec[];
  readonly pageSize: number;
  readonly queryAfterMs: number;
}

const vector = fc.array(fc.integer({ min: -1, max: 2 }), { minLength: DIM, maxLength: DIM }).filter((v) => v.some((x) => x !== 0));

const write = fc.record({
  golem: fc.constantFrom(0 as const, 1 as const),
  layer: fc.constantFrom("vault" as const, "clade" as const),
  category: fc.constantFrom(...CATEGORIES),
  words: fc.array(fc.integer({ min: 0, max: WORDS.length - 1 }), { minLength: 1, maxLength: 6 }),
  domain: fc.constantFrom(null, ...DOMAINS),
  confidence: fc.constantFrom(0.3, 0.5, 0.65, 0.8),
  embedding: fc.option(vector, { freq: 2 }),
  ttlSeconds: fc.option(fc.constantFrom(60, 7_200), { freq: 6 }),
  advanceMs: fc.constantFrom(0, 0, 1_000, 3_600_000),
});

const query = fc
  .record({
    words: fc.array(fc.integer({ min: 0, max: WORDS.length - 1 }), { maxLength: 3 }),
    unknownWord: fc.boolean(),
    embedding: fc.option(vector, { freq: 2 }),
    layers: fc.option(fc.subarray(["vault", "clade"] as Layer[], { minLength: 1 }), { nil: undefined }),
    domains: fc.option(fc.subarray([...DOMAINS], { minLength: 1 }), { nil: undefined, freq: 3 }),
    categories: fc.option(fc.subarray([...CATEGORIES], { minLength: 1 }), { nil: undefined, freq: 3 }),
    limit: fc.integer({ min: 1, max: 8 }),
    explain: fc.boolean(),
    as: fc.constantFrom(0 as const, 1 as const, null),
  })
  .filter((q) => q.words.length > 0 || q.unknownWord || q.embedding !== null);

/** Random corpora for B and A, and B's queries. */
export const scenarios: fc.Arbitrary<Scenario> = fc
  .record({
    b: fc.array(write, { minLength: 1, maxLength: 12 }),
    a: fc.array(fc.record({ w: write, slot: fc.nat() }), { minLength: 1, maxLength: 14 }),
    queries: fc.array(query, { minLength: 1, maxLength: 6 }),
    pageSize: fc.integer({ min: 1, max: 4 }),
    queryAfterMs: fc.constantFrom(0, 1_000, 90_000),
  })
  .map((s) => ({ ...s, a: s.a.map(({ w, slot }) => ({ ...w, slot: slot % (s.b.length + 1) })) }));

function golem(user: string, i: 0 | 1): Golem {
  return aliveGolem(`${user}-g${i}`, user, { generation: i, parentGolemId: i === 1 ? `${user}-g0` : null, createdAt: START });
}

function input(user: string, w: WriteSpec): WriteEntryInput {
  return {
    golem: golem(user, w.golem),
    layer: w.layer,
    category: w.category,
    content: w.words.map((i) => WORDS[i]).join(" "),
    embedding: w.embedding ?? undefined,
    domain: w.domain ?? undefined,
    confidence: w.confidence,
    ttlSeconds: w.ttlSeconds ?? undefined,
    metadata: { n: w.words.length },
  };
}

/**
 * Plays the scenario in a fresh world (with A's writes or without) and returns B's answers as
 * JSON strings, B's entry ids replaced by the index of the write that made them (ids are random).
 */
export async function playWorld(open: OpenStore, sc: Scenario, withA: boolean): Promise<{ what: string; json: string }[]> {
  const { store, close } = await open();
  try {
    const clock = new ManualClock(START);
    const knowledge = new KnowledgeService({
      store,
      vectors: new VectorSearch(new ExactVectorIndex(DIM), { dimensions: DIM }),
      clock,
      dimensions: DIM,
      letheDelay: { minMs: 3_600_000, maxMs: 3_600_000 },
      key: SecretKey.fromBase64(Buffer.alloc(32, 9).toString("base64")),
      pipeline: new PublicPipeline({ directory: new IdentifierDirectory(), pause: async () => {} }),
      random: () => 0.5,
    });
    const out: { what: string; json: string }[] = [];
    const labels = new Map<string, string>();
    const writeA = async (slot: number) => {
      if (!withA) return;
      for (const a of sc.a) if (a.slot === slot) await knowledge.write(input("user-a", a));
    };
    for (const [i, b] of sc.b.entries()) {
      await writeA(i);
      clock.advance(b.advanceMs);
      const r = await knowledge.write(input("user-b", b));
      labels.set(r.id, `<B${i}>`);
      out.push({ what: `write B${i}`, json: JSON.stringify(r) });
    }
    await writeA(sc.b.length);
    clock.advance(sc.queryAfterMs);
    for (const [i, q] of sc.queries.entries()) {
      const text = [...q.words.map((w) => WORDS[w]), ...(q.unknownWord ? ["nowhere"] : [])].join(" ");
      const asked: QueryInput = {
        text: text || undefined,
        embedding: q.embedding ?? undefined,
        layers: q.layers,
        domains: q.domains,
        categories: q.categories,
        limit: q.limit,
        explain: q.explain,
      };
      const who = {
        userId: "user-b",
        golemId: q.as === null ? null : `user-b-g${q.as}`,
        ...(q.as === 1 ? { ancestors: new Map([["user-b-g0", 1]]) } : {}),
      };
      const hits = await knowledge.query(who, asked);
      out.push({ what: `query ${i} ${JSON.stringify({ ...asked, as: q.as })}`, json: JSON.stringify(presentQueryAnswer(hits, q.explain)) });
    }
    for (const g of [0, 1] as const) {
      const id = `user-b-g${g}`;
      const all = [];
      for await (const e of knowledge.snapshot(id, 2)) all.push(presentSnapshotEntry(e));
      out.push({ what: `snapshot ${id} (ndjson)`, json: JSON.stringify(all) });
      let after: string | undefined;
      for (let page = 0; page <= sc.b.length; page++) {
        const p = await knowledge.snapshotPage(id, sc.pageSize, after);
        out.push({ what: `snapshot ${id} page ${page}`, json: JSON.stringify(presentSnapshotPage(p)) });
        if (p.next === null) break;
        after = p.next;
      }
    }
    return out.map(({ what, json }) => ({ what, json: relabel(json, labels) }));
  } finally {
    await close();
  }
}

/** Replaces each id by its label (ids are random base64url strings: no id is part of another). */
function relabel(json: string, labels: ReadonlyMap<string, string>): string {
  let s = json;
  for (const [id, label] of labels) s = s.split(id).join(label);
  return s;
}

/** Asserts that B's answers are the same with and without A's writes, on `runs` random scenarios. */
export async function assertNoninterference(open: OpenStore, opts: { runs: number; seed?: number }): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenarios, async (sc) => {
      const alone = await playWorld(open, sc, false);
      const shared = await playWorld(open, sc, true);
      assert.equal(shared.length, alone.length, "the same answers were asked for");
      for (const [i, a] of alone.entries()) {
        assert.equal(shared[i]?.json, a.json, `B's answer to ${a.what} changed when A wrote`);
      }
    }),
    { numRuns: opts.runs, ...(opts.seed === undefined ? {} : { seed: opts.seed }) },
  );
}
