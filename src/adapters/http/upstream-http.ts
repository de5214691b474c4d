import type { StreamPosition } from "../../core/fabric/history.js";
import { type FederationRecord, MAX_RECORDS_PER_PUSH } from "../../core/federation/records.js";
import {
  failureOf,
  type HelloReply,
  type HelloRequest,
  type PushReply,
  type SnapshotLine,
  UpstreamError,
} from "../../core/federation/upstream-transport.js";
import { FederationRecordWire, HelloAnswer, RecordsAnswer, SnapshotPositionLine } from "../../protocol/federation.js";
import { recordFromWire, recordToWire } from "../../protocol/federation-codec.js";
import { makeAjv } from "../../protocol/json-rules.js";
import { isRecord, isTimeout, networkCode } from "./openai-protocol.js";

const ajv = makeAjv(false);
const helloAnswer = ajv.compile(HelloAnswer);
const recordsAnswer = ajv.compile(RecordsAnswer);
/** Checks one record as it arrives from the upstream (stream events and snapshot lines). */
export const wireRecord = ajv.compile(FederationRecordWire);
const positionLine = ajv.compile(SnapshotPositionLine);

/** How long a hello or a push may take. */
const CALL_TIMEOUT_MS = 15_000;
/** How long a snapshot may take to arrive whole. */
const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;
/** Longest snapshot line (a lethe record with a 64 KiB text and a 4,096-dimension embedding fits well under it). */
const MAX_LINE_BYTES = 1024 * 1024;

/** Where the upstream is and the key it issued this Styx (STYX_UPSTREAM_URL, STYX_UPSTREAM_KEY). */
export interface UpstreamEndpoint {
  readonly url: string;
  readonly key: string;
}

/** `{base}{path}`: the upstream's URL may carry a path prefix (a proxy); a trailing slash is dropped. */
export function upstreamUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

/**
 * The HTTP half of the upstream transport (SPEC §17.2): hello, pushes and snapshots with the
 * federate key as Bearer; every answer checked against its schema (an answer that is not one
 * is a failure of the upstream, never trusted).
 */
export class UpstreamHttp {
  readonly #u: UpstreamEndpoint;

  constructor(endpoint: UpstreamEndpoint) {
    this.#u = endpoint;
  }

  /** `POST /v1/styx/federation/hello`. */
  async hello(req: HelloRequest, signal?: AbortSignal): Promise<HelloReply> {
    const body = { instance_id: req.instanceId, version: req.version, flows: req.flows, domains: req.domains, embed_dim: req.embedDim };
    const v = await this.#json("POST", "/v1/styx/federation/hello", body, signal);
    if (!helloAnswer(v)) throw new UpstreamError("network", "the upstream's hello answer is not one (schema)");
    const a = v as HelloAnswer;
    const positions = new Map<string, StreamPosition>();
    for (const [s, p] of Object.entries(a.positions)) positions.set(s, { epoch: p.epoch, seq: p.seq });
    return { instanceId: a.instance_id, version: a.version, flows: a.flows, domains: a.domains, embedDim: a.embed_dim, positions };
  }

  /** `POST /v1/styx/federation/records`. */
  async push(records: readonly FederationRecord[], signal?: AbortSignal): Promise<PushReply> {
    if (records.length > MAX_RECORDS_PER_PUSH) throw new RangeError(`at most ${MAX_RECORDS_PER_PUSH} records a push`);
    const v = await this.#json("POST", "/v1/styx/federation/records", { records: records.map(recordToWire) }, signal);
    if (!recordsAnswer(v)) throw new UpstreamError("network", "the upstream's push answer is not one (schema)");
    const a = v as RecordsAnswer;
    return { accepted: a.accepted, duplicates: a.duplicates, rejected: a.rejected.map((r) => ({ index: r.index, code: r.code })) };
  }

  /** `GET /v1/styx/federation/snapshot?domain=`: NDJSON lines, read as they arrive. */
  async *snapshot(domain: string, signal?: AbortSignal): AsyncIterable<SnapshotLine> {
    const timeout = AbortSignal.timeout(SNAPSHOT_TIMEOUT_MS);
    const res = await this.#fetch("GET", `/v1/styx/federation/snapshot?domain=${encodeURIComponent(domain)}`, undefined, {
      signal: signal ? either(signal, timeout) : timeout,
      accept: "application/x-ndjson",
    });
    if (!res.body) throw new UpstreamError("network", "the upstream's snapshot has no body");
    let positioned = false;
    try {
      for await (const line of ndjsonLines(res.body)) {
        const text = line.trim();
        // Nothing after the position line belongs to the snapshot.
        if (text === "" || positioned) continue;
        const decoded = decodeLine(text);
        if (decoded.type === "position") positioned = true;
        yield decoded;
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError("network", `the snapshot of ${domain} broke off: ${describe(err)}`, { cause: err });
    }
    if (!positioned) throw new UpstreamError("network", `the snapshot of ${domain} ended without its position line`);
  }

  async #json(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    const res = await this.#fetch(method, path, body, { signal: signal ? either(signal, timeout) : timeout, accept: "application/json" });
    try {
      return await res.json();
    } catch (err) {
      throw new UpstreamError("network", `the upstream's answer to ${path} is not JSON`, { cause: err });
    }
  }

  /** A request with the key; a non-2xx answer becomes an UpstreamError named after its status and error code. */
  async #fetch(method: string, path: string, body: unknown, opts: { signal: AbortSignal; accept: string }): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(upstreamUrl(this.#u.url, path), {
        method,
        headers: {
          authorization: `Bearer ${this.#u.key}`,
          accept: opts.accept,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: opts.signal,
        redirect: "error",
      });
    } catch (err) {
      throw new UpstreamError("network", `${method} ${path}: ${describe(err)}`, { cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    const code = errorCode(text);
    const retryAfterMs = retryAfter(res.headers.get("retry-after"));
    throw new UpstreamError(failureOf(res.status, code), `${method} ${path}: ${res.status}${code ? ` ${code}` : ""}`, {
      status: res.status,
      code,
      retryAfterMs,
    });
  }
}

/** One snapshot line decoded: the position, a record, or why it is neither. */
export function decodeLine(text: string): SnapshotLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { type: "invalid", reason: "not JSON" };
  }
  if (isRecord(v) && "position" in v) {
    if (!positionLine(v)) throw new UpstreamError("network", "the snapshot's position line is not one (schema)");
    const p = (v as { position: StreamPosition }).position;
    return { type: "position", position: { epoch: p.epoch, seq: p.seq } };
  }
  if (!wireRecord(v)) return { type: "invalid", reason: ajv.errorsText(wireRecord.errors) };
  return { type: "record", record: recordFromWire(v as FederationRecordWire) };
}

/** The lines of an NDJSON body, decoded as UTF-8, each at most MAX_LINE_BYTES. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
    }
    if (buf.length > MAX_LINE_BYTES) throw new UpstreamError("network", "a snapshot line is longer than 1 MiB");
  }
  buf += decoder.decode();
  if (buf.length > 0) yield buf;
}

/** A signal aborted when either is (AbortSignal.any is Node 20.3+; the engines field says 20). */
function either(a: AbortSignal, b: AbortSignal): AbortSignal {
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

/** `error.code` of a Styx error body, if it is one. */
function errorCode(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    const code = isRecord(v) && isRecord(v.error) ? v.error.code : undefined;
    return typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date; at most an hour. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const t = header.trim();
  const ms = /^\d+$/.test(t) ? Number(t) * 1000 : Date.parse(t) - now;
  return Number.isFinite(ms) ? Math.min(3_600_000, Math.max(0, ms)) : undefined;
}

/** A failed fetch in a few words (a timeout, the system error code, or the message): never a header or the key. */
function describe(err: unknown): string {
  if (isTimeout(err)) return "timed out";
  return networkCode(err) ?? (err instanceof Error ? err.message : String(err));
}
