/**
 * Inputs of bench/writes.ts: a fresh persistent test server with one user and golem, and the
 * in-process write inputs (prepared before the clock starts, so only the write is timed).
 */
import { newId } from "../../src/core/platform/crypto.js";
import type { TestServer } from "../../src/testing/test-server.js";
import { clusteredSource, DIM, rng, words } from "./common.js";

/** The fields a plain vault write gets from KnowledgeService (confidence 0.5, no domain, no TTL). */
export const ENTRY_DEFAULTS = {
  ...{ domain: null, regime: null, confidence: 0.5, affect: null, emotion: null, metadata: {}, isBloodstain: false, inClade: false },
  ...{ validations: 0, contradictions: 0, expiresAt: null, letheAt: null, letheWaiting: false, idempotencyKey: null, contentBlob: null },
};

/** A content hash for the store-level rows (the service computes BLAKE3; the stores take it as given). */
export const HASH = "0".repeat(64);

/**
 * A fresh persistent test server with one user and golem. The server is the compiled one
 * (dist/, what `styx serve` runs), not the TypeScript sources through tsx: tsx's transform adds
 * work per request (a `__name` call for every closure made) that production does not pay.
 */
export async function server(): Promise<{ s: TestServer; key: string; golemId: string }> {
  const compiled = "../../dist/testing/test-server.js";
  const { startTestServer } = (await import(compiled)) as typeof import("../../src/testing/test-server.js");
  const s = await startTestServer({ persistent: true, env: { STYX_EMBED_DIM: String(DIM) } });
  const u = await s.user();
  const g = await s.golem(u.key, { id: "bench-golem" });
  return { s, key: u.key, golemId: g.id };
}

/**
 * In-process write inputs, prepared before the clock starts so only the write is timed: 2,000
 * clustered vectors (as number[] for the service, as float32 bytes for the stores) and 12 words
 * of content; write i uses pool item i mod 2,000 with " #i" appended to its content.
 */
export function inputs(seed: number): (i: number) => { content: string; embedding: number[]; blob: Buffer; id: string } {
  const rand = rng(seed);
  const vecs = clusteredSource(seed).draw(2_000);
  const pool = Array.from({ length: 2_000 }, (_, r) => {
    const f32 = vecs.slice(r * DIM, (r + 1) * DIM);
    return { content: `bench entry: ${words(rand, 12)}`, embedding: Array.from(f32), blob: Buffer.from(f32.buffer) };
  });
  const tag = newId("ent");
  return (i) => {
    const p = pool[i % 2_000] as (typeof pool)[number];
    return { ...p, content: `${p.content} #${i}`, id: `${tag}_${i}` };
  };
}
