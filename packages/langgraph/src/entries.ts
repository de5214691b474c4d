import type { Routes, StyxClient } from "@styx/client";

/** One entry as `GET /v1/styx/entries` lists it. */
export type ListedEntry = Routes["GET /v1/styx/entries"]["response"]["entries"][number];
/** The body of one entry write. */
export type EntryBody = Routes["POST /v1/styx/entries"]["body"];
/** Entry categories of Styx. */
export type Category = EntryBody["category"];

/** Largest entry content written inline (Styx's limit is 64 KiB of UTF-8); longer payloads go to a blob. */
export const INLINE_CONTENT_BYTES = 60 * 1024;
/** Most entries in one batch write (Styx's limit). */
const BATCH = 256;
/** Styx's longest metadata filter value. */
export const MAX_FILTER_VALUE = 256;

/** A filter of `GET /v1/styx/entries`: the fixed fields and `metadata.<key>` pairs. */
export interface EntryFilter {
  readonly golemId?: string | undefined;
  readonly layer?: "vault" | "clade" | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Refuses a value Styx could not filter on (a metadata filter value is at most 256 characters). */
export function filterable(what: string, value: string): string {
  if (value.length > MAX_FILTER_VALUE) throw new Error(`${what} is longer than ${MAX_FILTER_VALUE} characters (Styx filters on it)`);
  return value;
}

/** Every entry matching `f`, oldest first, page by page (100 a page). */
export async function* listAll(client: StyxClient, f: EntryFilter): AsyncGenerator<ListedEntry> {
  const query: Record<string, string | number> = { limit: 100 };
  if (f.golemId !== undefined) query.golem_id = f.golemId;
  if (f.layer !== undefined) query.layer = f.layer;
  for (const [k, v] of Object.entries(f.metadata)) query[`metadata.${k}`] = v;
  let cursor: string | null = null;
  do {
    const page = await client.listEntries((cursor === null ? query : { ...query, cursor }) as Parameters<StyxClient["listEntries"]>[0]);
    for (const e of page.entries) yield e;
    cursor = page.next_cursor;
  } while (cursor !== null);
}

/** `listAll` gathered into an array. */
export async function collect(client: StyxClient, f: EntryFilter): Promise<ListedEntry[]> {
  const out: ListedEntry[] = [];
  for await (const e of listAll(client, f)) out.push(e);
  return out;
}

/**
 * The content of an entry body for `text`: inline when it fits, otherwise the full text goes to
 * a blob (`content_blob`) and `content` is `label`.
 */
export async function contentOf(client: StyxClient, text: string, label: string): Promise<Pick<EntryBody, "content" | "content_blob">> {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= INLINE_CONTENT_BYTES) return { content: text };
  const { cid } = await client.putBlob(bytes);
  return { content: label, content_blob: cid };
}

/** The full text of a listed entry: its content, or its blob's bytes when it has one. */
export async function textOf(client: StyxClient, e: Pick<ListedEntry, "content" | "content_blob">): Promise<string> {
  if (e.content_blob === null) return e.content;
  return new TextDecoder().decode(await client.getBlob(e.content_blob));
}

/** Writes entries in batches of Styx's limit; the ids in order. */
export async function writeAll(client: StyxClient, entries: readonly EntryBody[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i += BATCH) {
    const { results } = await client.writeEntries({ entries: entries.slice(i, i + BATCH) });
    for (const r of results) ids.push(r.id);
  }
  return ids;
}

/** Deletes entries (an entry already gone is fine), then tries to give back their blobs. */
export async function deleteAll(client: StyxClient, entries: readonly Pick<ListedEntry, "id" | "content_blob">[]): Promise<void> {
  await Promise.all(entries.map((e) => client.deleteEntry(e.id).catch(ignore(404))));
  const blobs = new Set(entries.flatMap((e) => (e.content_blob === null ? [] : [e.content_blob])));
  // A golem credential may not delete blobs (403), and another entry may still name the same
  // content-addressed blob (409): both leave the blob in place, which is right.
  await Promise.all([...blobs].map((cid) => client.deleteBlob(cid).catch(ignore(403, 404, 409))));
}

/** A rejection handler that swallows Styx errors with these statuses and rethrows others. */
export function ignore(...statuses: number[]): (err: unknown) => undefined {
  return (err) => {
    if (typeof err === "object" && err !== null && statuses.includes((err as { status?: number }).status ?? -1)) return undefined;
    throw err;
  };
}
