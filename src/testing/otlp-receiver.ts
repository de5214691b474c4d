import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as the receiver decoded it from an OTLP/HTTP JSON export. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP's SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: ReadonlyMap<string, string | number | boolean>;
  /** The exporting process's `service.name`. */
  readonly service: string | undefined;
}

/** An in-process OTLP/HTTP collector for tests: what Styx exported, decoded. */
export interface OtlpReceiver {
  /** The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  readonly endpoint: string;
  /** Every span received so far (JSON exports), in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Protobuf exports received (counted, not decoded: the SDK publishes no request decoder), with their bytes. */
  readonly protobuf: { readonly exports: number; readonly bytes: number };
  /** The headers of the last export request. */
  readonly lastHeaders: IncomingMessage["headers"] | undefined;
  /** Resolves with the spans once `done(spans)` holds; rejects with what arrived after `timeoutMs`. */
  waitFor(done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<readonly ReceivedSpan[]>;
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value?: AnyValue };
type JsonSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: KeyValue[];
};
type JsonExport = {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
};

function scalar(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

function attributesOf(kvs: readonly KeyValue[] | undefined): Map<string, string | number | boolean> {
  const out = new Map<string, string | number | boolean>();
  for (const kv of kvs ?? []) {
    const v = scalar(kv.value);
    if (v !== undefined) out.set(kv.key, v);
  }
  return out;
}

/** The spans of one OTLP/HTTP JSON export body (ExportTraceServiceRequest in the OTLP JSON mapping: ids in hex). */
export function decodeJsonExport(body: JsonExport): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = attributesOf(rs.resource?.attributes).get("service.name");
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ? s.parentSpanId : undefined,
          name: s.name,
          kind: s.kind ?? 0,
          attributes: attributesOf(s.attributes),
          service: typeof service === "string" ? service : undefined,
        });
  }
  return spans;
}

/** Whether `span` descends from `ancestor` among `spans` (through parent ids, same trace). */
export function descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan, spans: readonly ReceivedSpan[]): boolean {
  const byId = new Map(spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
  let at: ReceivedSpan | undefined = span;
  for (let hops = 0; at && hops < 1000; hops++) {
    if (at.parentSpanId === ancestor.spanId) return true;
    at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
  }
  return false;
}

/**
 * Starts a collector on 127.0.0.1 that accepts OTLP/HTTP trace exports at `/v1/traces`: JSON
 * bodies are decoded into `spans`; protobuf bodies are answered (an empty response message) and
 * counted. Anything else is a 404 or 415.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const protobuf = { exports: 0, bytes: 0 };
  const waiters = new Set<() => void>();
  let lastHeaders: IncomingMessage["headers"] | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") return void res.writeHead(404).end();
      lastHeaders = req.headers;
      const body = Buffer.concat(chunks);
      const type = req.headers["content-type"] ?? "";
      if (type.startsWith("application/json")) {
        spans.push(...decodeJsonExport(JSON.parse(body.toString("utf8")) as JsonExport));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else if (type.startsWith("application/x-protobuf")) {
        protobuf.exports++;
        protobuf.bytes += body.length;
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } else return void res.writeHead(415).end();
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    protobuf,
    get lastHeaders() {
      return lastHeaders;
    },
    waitFor(done, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the exported spans never matched; received: ${spans.map((s) => s.name).join(", ") || "none"}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
