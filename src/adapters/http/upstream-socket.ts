import WebSocket from "ws";
import type { StreamPosition } from "../../core/fabric/history.js";
import { FEDERATION_RECORD_CHANNEL } from "../../core/fabric/streams.js";
import {
  failureOf,
  type RecordChannel,
  type RecordHandlers,
  UpstreamError,
  type UpstreamFailure,
} from "../../core/federation/upstream-transport.js";
import type { FederationRecordWire } from "../../protocol/federation.js";
import { recordFromWire } from "../../protocol/federation-codec.js";
import { type UpstreamEndpoint, upstreamUrl, wireRecord } from "./upstream-http.js";

/** How long the upgrade and the welcome may take. */
const OPEN_TIMEOUT_MS = 15_000;
/** Pings missed (in ping intervals) before a silent upstream is taken for gone. */
const SILENT_INTERVALS = 2.5;
/** Most streams one `resume` names (ResumeMsg's maxProperties). */
const RESUME_STREAMS_MAX = 64;
/** Largest frame taken from the upstream (a replayed batch of records). */
const MAX_PAYLOAD = 16 * 1024 * 1024;

/**
 * The record socket to the upstream (`WS /v1/styx/ws`, the server's own protocol, SPEC §9):
 * the federate key as Bearer at the upgrade, `welcome`, then `resume` per federation stream;
 * event frames (one, or a batch as a JSON array) of channel `styx:federation:record` carry a
 * wire record as payload. A socket silent for 2.5 ping intervals is taken for gone.
 */
export function openRecordSocket(endpoint: UpstreamEndpoint, handlers: RecordHandlers): Promise<RecordChannel> {
  const url = upstreamUrl(endpoint.url.replace(/^http/, "ws"), "/v1/styx/ws");
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${endpoint.key}` }, maxPayload: MAX_PAYLOAD, autoPong: true });
  let welcomed = false;
  let closedOnce = false;
  let silence: NodeJS.Timeout | undefined;
  let nextId = 1;
  const resumeIds = new Set<string>();

  const finish = (err: UpstreamError): void => {
    if (closedOnce) return;
    closedOnce = true;
    clearTimeout(silence);
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    handlers.closed(err);
  };

  return new Promise<RecordChannel>((resolve, reject) => {
    const fail = (err: UpstreamError): void => {
      if (!welcomed) {
        closedOnce = true;
        clearTimeout(silence);
        ws.terminate();
        reject(err);
      } else finish(err);
    };
    const watch = (ms: number): void => {
      clearTimeout(silence);
      silence = setTimeout(() => fail(new UpstreamError("network", `the upstream's socket was silent for ${ms} ms`)), ms);
      silence.unref();
    };
    watch(OPEN_TIMEOUT_MS);
    let pingMs = 30_000;

    // A refused upgrade is judged by its status and error code; the socket's own error and close events after it add nothing.
    let refusedUpgrade = false;
    ws.on("unexpected-response", (_req, res) => {
      refusedUpgrade = true;
      const status = res.statusCode ?? 0;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on("end", () => {
        const code = /"code"\s*:\s*"([A-Z0-9_]{1,64})"/.exec(body)?.[1];
        fail(new UpstreamError(failureOf(status, code), `socket upgrade: ${status}${code ? ` ${code}` : ""}`, { status, code }));
      });
      res.on("error", () => fail(new UpstreamError(failureOf(status, undefined), `socket upgrade: ${status}`, { status })));
    });
    ws.on(
      "error",
      (err) => refusedUpgrade || fail(new UpstreamError("network", `socket: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
    );
    ws.on("ping", () => watch(pingMs * SILENT_INTERVALS));
    ws.on("close", (code, reason) => {
      if (refusedUpgrade) return;
      const r = reason.toString();
      fail(new UpstreamError(closeFailure(code, r), `socket closed: ${code}${r ? ` ${r}` : ""}`, { code: r || undefined }));
    });
    ws.on("message", (data) => {
      let v: unknown;
      try {
        v = JSON.parse(data.toString());
      } catch {
        return;
      }
      for (const f of Array.isArray(v) ? v : [v]) {
        if (typeof f !== "object" || f === null) continue;
        const frame = f as Record<string, unknown>;
        if (frame.type === "welcome") {
          welcomed = true;
          if (typeof frame.ping_interval_ms === "number" && frame.ping_interval_ms > 0) pingMs = frame.ping_interval_ms;
          watch(pingMs * SILENT_INTERVALS);
          resolve(channel);
        } else if (frame.type === "resumed") resumed(frame);
        else if (frame.type === "error") {
          // A refused resume leaves the link deaf: the socket is dropped and the error shows as the link's last error.
          if (typeof frame.id === "string" && resumeIds.has(frame.id))
            finish(new UpstreamError("invalid", `resume refused: ${String(frame.code)} ${String(frame.message ?? "")}`));
        } else if (frame.type === undefined && typeof frame.stream === "string") event(frame);
      }
    });

    const resumed = (frame: Record<string, unknown>): void => {
      if (typeof frame.id === "string") resumeIds.delete(frame.id);
      const streams = frame.streams as Record<string, { recovered: boolean; epoch: string; seq: number; reason?: string }> | undefined;
      for (const [stream, a] of Object.entries(streams ?? {})) {
        const position = { epoch: String(a.epoch), seq: Number(a.seq) };
        handlers.resumed(stream, { recovered: a.recovered === true, position, ...(a.reason ? { reason: a.reason } : {}) });
      }
    };

    const event = (frame: Record<string, unknown>): void => {
      if (frame.channel !== FEDERATION_RECORD_CHANNEL || typeof frame.epoch !== "string" || typeof frame.seq !== "number") return;
      const position: StreamPosition = { epoch: frame.epoch, seq: frame.seq };
      if (wireRecord(frame.payload))
        handlers.record(frame.stream as string, position, recordFromWire(frame.payload as FederationRecordWire));
      else handlers.record(frame.stream as string, position, undefined, "the record does not match its schema");
    };

    const channel: RecordChannel = {
      resume: (positions) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        // A resume message names at most 64 streams (the protocol's bound).
        const all = [...positions];
        for (let i = 0; i < all.length; i += RESUME_STREAMS_MAX) {
          const id = `resume-${nextId++}`;
          resumeIds.add(id);
          ws.send(JSON.stringify({ type: "resume", id, streams: Object.fromEntries(all.slice(i, i + RESUME_STREAMS_MAX)) }));
        }
      },
      close: () => {
        if (closedOnce) return;
        closedOnce = true;
        clearTimeout(silence);
        ws.close(1000, "federation link closed");
        // A peer that never answers the close is cut.
        setTimeout(() => ws.terminate(), 5000).unref();
      },
    };
  });
}

/** What a close code (and its reason, the error code) says about the link: credentials and loops are refusals. */
function closeFailure(code: number, reason: string): UpstreamFailure {
  if (reason === "STYX_FEDERATION_NOT_LINKED") return "not_linked";
  if (code === 4401 || code === 4403 || code === 4409) return "refused";
  // 4402 STYX_CREDIT_EXHAUSTED: a priced upstream paused the down-flow; reconnecting resumes from the cursors once topped up.
  if (code === 4429 || code === 4402) return "throttled";
  return code === 1011 || code === 1012 || code === 1013 ? "unavailable" : "network";
}
