import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { AUTH_FAILURE_REASONS, AUTH_TRANSPORTS } from "../core/platform/auth-failures.js";

/**
 * The Prometheus metrics of one Styx process (SPEC §12 names). Each server owns its own
 * registry so several can live in one process (tests) without clashing.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "styx_requests_total",
    help: "HTTP requests answered, by route pattern and status code.",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "styx_request_duration_seconds",
    help: "HTTP request duration in seconds, by route pattern.",
    labelNames: ["route", "method"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: "styx_inflight",
    help: "HTTP requests being handled now.",
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "styx_rejected_total",
    help: "Requests refused before reaching a handler, by reason (rate_limit, quota, overloaded, shutting_down, too_large, decompression, heavy_user_queue, heavy_queue_full, unfinished_connections: a connection dropped past STYX_UNFINISHED_CONNECTIONS_PER_IP).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly taskDuration = new Histogram({
    name: "styx_task_duration_seconds",
    help: "Background task run time in seconds, by task and outcome.",
    labelNames: ["task", "outcome"] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "styx_leader",
    help: "1 while this process runs the background tasks (macronode: holds the leader lease), else 0.",
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: "styx_events_total",
    help: "Events published on the fabric, by stream kind (user, domain, public).",
    labelNames: ["stream"] as const,
    registers: [this.registry],
  });
  readonly wsMessages = new Counter({
    name: "styx_ws_messages_total",
    help: "Client socket messages handled, by type (invalid for unparseable or unknown ones).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly wsDropped = new Counter({
    name: "styx_ws_dropped_total",
    help: "Sockets closed or deliveries dropped by the fabric, by reason (slow_consumer, ping_timeout, auth_timeout, flood, clade_outbox_full, credential: its key was revoked or its credential expired).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: "styx_auth_failures_total",
    help: "Failed authentications, by transport (http, ws) and reason (missing, invalid, admin_token, not_admin, wallet); each also audited as auth.failed, one record per client address and minute.",
    labelNames: ["transport", "reason"] as const,
    registers: [this.registry],
  });
  readonly heavyWait = new Histogram({
    name: "styx_heavy_wait_seconds",
    help: "Time heavy work (queries, snapshots, batch writes) waited in the fair queue before it ran, in seconds.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly payments = new Counter({
    name: "styx_payments_total",
    help: "x402 payments of priced requests (operation credit_topup: relay credit top-ups), by operation and outcome (required: a 402 without payment; invalid; replayed; malformed; spend_limit: refused with 403 by the key's spend limit; accepted: the answer succeeded, queued for settlement; voided: the answer failed or was an idempotent replay, never settled).",
    labelNames: ["operation", "outcome"] as const,
    registers: [this.registry],
  });
  readonly facilitatorRequests = new Counter({
    name: "styx_facilitator_requests_total",
    help: "Calls to the x402 facilitator, by op (verify, settle) and outcome (ok, refused: a verdict against the payment, unavailable).",
    labelNames: ["op", "outcome"] as const,
    registers: [this.registry],
  });
  readonly relayCredit = new Counter({
    name: "styx_relay_credit_events_total",
    help: "Socket events and clade deltas on a priced Styx, by outcome (charged: paid from relay credit and relayed; exhausted: refused with STYX_CREDIT_EXHAUSTED, not relayed; refunded: charged, then its publish failed, so its unit was given back).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly settlements = new Counter({
    name: "styx_settlement_total",
    help: "Settlement attempts of accepted payments, by outcome (settled, failed: for good, retry: back to accepted).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly marketplacePurchases = new Counter({
    name: "styx_marketplace_purchases_total",
    help: "Marketplace purchases, by outcome (paid: bought and answered, settled: its payment settled, revoked: its payment failed or was voided).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly marketplaceFees = new Counter({
    name: "styx_marketplace_fee_atomic_total",
    help: "Protocol fees of marketplace purchases (⌈5 %⌉ of each price), in atomic USDC units.",
    registers: [this.registry],
  });
  readonly federationRecords = new Counter({
    name: "styx_federation_records_total",
    help: "Federation records (SPEC §17) by direction (up: this Styx's records pushed to its upstream; down: the upstream's applied here), kind (pheromone, lethe, causal; unknown: a record that did not decode) and outcome (accepted, duplicate, rejected; up also expired: 7 days in the outbox or a faded deposit, dropped: its flow no longer goes up; down also skipped: of this Styx's own origin, or of a kind or domain not taken down).",
    labelNames: ["direction", "kind", "outcome"] as const,
    registers: [this.registry],
  });
  /** Current in-flight count, mirrored for load shedding without reading the gauge. */
  inflightNow = 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "styx_process_" });
    // prom-client's three `*_total` gauges are the sums of the per-type gauges beside them
    // (styx_process_nodejs_active_handles{type}, …); a gauge named `_total` breaks the exposition
    // format's naming rule (promtool check metrics, run in CI), and sum() by type gives the same.
    for (const name of ["handles", "requests", "resources"]) this.registry.removeSingleMetric(`styx_process_nodejs_active_${name}_total`);
    // Every series exists at 0 from the start, so rate() and alerts see the first failure.
    for (const transport of AUTH_TRANSPORTS) for (const reason of AUTH_FAILURE_REASONS) this.authFailures.inc({ transport, reason }, 0);
  }

  /** A gauge read at scrape time from `read` (e.g. the vector index backlog). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /**
   * A gauge with one label, read at scrape time: `read` gives the value of each label value it
   * knows (a label value it stops giving is dropped). Keep `read` cheap: no I/O per scrape.
   */
  labeledGauge(name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, n] of read()) this.set({ [label]: value }, n);
      },
    });
  }
}
