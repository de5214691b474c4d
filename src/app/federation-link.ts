import type { Static } from "typebox";
import { UpstreamClient } from "../adapters/http/upstream-client.js";
import type { FederationConfig } from "../config/load.js";
import type { FederationLink as DownstreamRow, FederationStore } from "../core/federation/federation-store.js";
import { FederationLink } from "../core/federation/link.js";
import type { RecordApplier } from "../core/federation/records.js";
import type { UpstreamTransport } from "../core/federation/upstream-transport.js";
import { type Clock, iso } from "../core/platform/clock.js";
import type { DependencyCheck } from "../core/platform/health.js";
import type { FederationAdminView, FederationLinkView } from "../protocol/federation.js";
import type { Metrics } from "../server/metrics.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { ProcessLog } from "./log.js";

/** The task that drives the link (every second, on the leader only). */
export const FEDERATION_LINK_TASK = "federation-link";
/** How often the link's task ticks: the outbox's latency, and the resolution of the reconnect backoff. */
export const FEDERATION_TICK_MS = 1000;
/** A downstream heard from within this long shows as connected in the admin view. */
const DOWNSTREAM_FRESH_MS = 10 * 60_000;

/** The admin view's answer. */
export type AdminView = Static<typeof FederationAdminView>;
type LinkView = Static<typeof FederationLinkView>;

/** What federation adds to a process on the downstream side: the link (if an upstream is configured), the admin view, health's `upstream`. */
export interface UpstreamLinkStack {
  readonly link: FederationLink | undefined;
  /** `GET /v1/admin/federation`. */
  view(): Promise<AdminView>;
  /** Health's `upstream` (never among the dependencies: its loss sheds nothing). */
  readonly check: DependencyCheck | undefined;
}

/**
 * Wires the link to the upstream (SPEC §17.2) when STYX_UPSTREAM_URL is set: the HTTP/socket
 * transport, the link over the federation store and the record applier, driven by a task that
 * ticks every second while this process leads (a macronode's leader holds the link; a new leader
 * resumes from the stored cursors) and stops it when the leadership goes or the process stops;
 * its records counted into `styx_federation_records_total`, `styx_federation_connected` and
 * `styx_federation_outbox_depth` read at scrape time.
 */
export function buildUpstreamLink(opts: {
  config: FederationConfig;
  store: FederationStore;
  applier: RecordApplier;
  instanceId: string;
  version: string;
  embedDim: number;
  clock: Clock;
  scheduler: Pick<Scheduler, "add">;
  metrics: Pick<Metrics, "federationRecords" | "gauge">;
  log: ProcessLog;
  /** With STYX_FEDERATE_DOMAINS=*: the domains seen locally. */
  localDomains?: () => Promise<readonly string[]>;
  /** Tests: another transport than the real upstream's. */
  transport?: UpstreamTransport;
}): UpstreamLinkStack {
  const { config, store, metrics, clock } = opts;
  const upstream = config.upstream;
  const link = upstream
    ? new FederationLink({
        instanceId: opts.instanceId,
        version: opts.version,
        embedDim: opts.embedDim,
        flows: config.flows,
        domains: config.domains,
        store,
        applier: opts.applier,
        transport: opts.transport ?? new UpstreamClient(upstream),
        clock,
        ...(opts.localDomains ? { localDomains: opts.localDomains } : {}),
        count: (direction, kind, outcome, n) => metrics.federationRecords.inc({ direction, kind, outcome }, n),
        log: opts.log,
      })
    : undefined;
  if (link) {
    opts.scheduler.add({
      name: FEDERATION_LINK_TASK,
      everyMs: FEDERATION_TICK_MS,
      atLead: true,
      run: async () => {
        link.start();
        link.tick();
      },
      atUnlead: () => link.stop(),
    });
    metrics.gauge("styx_federation_connected", "1 while this process holds a connected link to its upstream (SPEC §17), else 0.", () =>
      link.state === "connected" ? 1 : 0,
    );
    metrics.gauge("styx_federation_outbox_depth", "Local federation records waiting in the outbox for the upstream.", () => store.depth());
  }
  const safeUrl = upstream ? redactUrl(upstream.url) : undefined;

  return {
    link,
    async view() {
      return {
        instance_id: opts.instanceId,
        upstream: link && safeUrl !== undefined ? await upstreamView(link, store, safeUrl) : null,
        downstreams: (await store.links()).map((l) => downstreamView(l, clock.now())),
      };
    },
    check: link
      ? {
          name: "upstream",
          async check() {
            const s = link.status();
            if (!link.running) return { status: "down", latency_ms: 0, detail: "held by the leader, not by this process" };
            const detail = `${s.state}${s.upstreamInstanceId ? ` to ${s.upstreamInstanceId}` : ""}${s.lastError ? `: ${s.lastError}` : ""}`;
            return { status: s.state === "connected" ? "up" : "down", latency_ms: 0, detail: detail.slice(0, 200) };
          },
        }
      : undefined,
  };
}

async function upstreamView(link: FederationLink, store: FederationStore, url: string): Promise<LinkView> {
  const s = link.status();
  const cursors: LinkView["cursors"] = Object.create(null);
  for (const [stream, p] of await store.cursors()) cursors[stream] = { epoch: p.epoch, seq: p.seq };
  return {
    direction: "upstream",
    state: s.state,
    instance_id: s.upstreamInstanceId,
    url,
    flows: [...s.flows],
    domains: [...s.domains],
    cursors,
    outbox_depth: await store.depth(),
    last_error: link.running ? s.lastError : "this process does not lead: the leader holds the link",
    last_seen_at: s.lastSeenAt === null ? null : iso(s.lastSeenAt),
  };
}

/** A downstream as the upstream sees it: connected while heard from in the last 10 minutes (a push, a subscribe, a snapshot). */
function downstreamView(l: DownstreamRow, now: number): LinkView {
  return {
    direction: "downstream",
    state: now - l.lastSeenAt <= DOWNSTREAM_FRESH_MS ? "connected" : "disconnected",
    instance_id: l.instanceId,
    key_id: l.keyId,
    flows: [...l.flows],
    domains: [...l.domains],
    cursors: {},
    outbox_depth: 0,
    last_error: null,
    last_seen_at: iso(l.lastSeenAt),
  };
}

/** The upstream's URL without user info, query or fragment (the view may be shown on a dashboard). */
function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return "(invalid URL)";
  }
}
