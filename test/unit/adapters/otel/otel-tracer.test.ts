import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { OtelTracer } from "../../../../src/adapters/otel/otel-tracer.js";
import { openDatabase } from "../../../../src/adapters/sqlite/database.js";
import { traceTransactions } from "../../../../src/adapters/sqlite/traced-database.js";
import { tracePort } from "../../../../src/app/tracing.js";
import { noTracer } from "../../../../src/core/platform/tracer.js";

// The SDK as sdk.ts registers it (AsyncLocalStorage context, W3C propagation), exporting to memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const tracer = new OtelTracer(provider.getTracer("test"));
const REMOTE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

after(() => provider.shutdown());

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().find((s) => s.name === name);

describe("OtelTracer (the Tracer port over OpenTelemetry)", () => {
  beforeEach(() => exporter.reset());

  it("runs work outside any trace without a span (background work makes no trace of its own)", () => {
    assert.equal(
      tracer.span("orphan", () => 42),
      42,
    );
    assert.equal(spans().length, 0);
  });

  it("continues a remote traceparent, and nests the spans started inside it", async () => {
    await tracer.span("ws event", async () => tracer.span("inner", async () => "done"), { kind: "server", parent: REMOTE });
    const outer = named("ws event");
    const inner = named("inner");
    assert.equal(outer?.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(outer?.parentSpanContext?.spanId, "b7ad6b7169203331");
    assert.equal(inner?.spanContext().traceId, outer?.spanContext().traceId);
    assert.equal(inner?.parentSpanContext?.spanId, outer?.spanContext().spanId);
  });

  it("starts a new trace for parent null, and tells the active span's traceparent inside it", () => {
    let inside: string | undefined;
    tracer.span("root", () => (inside = tracer.traceparent()), { parent: null });
    const root = named("root");
    assert.equal(root?.parentSpanContext, undefined);
    assert.equal(inside, `00-${root?.spanContext().traceId}-${root?.spanContext().spanId}-01`);
    assert.equal(tracer.traceparent(), undefined, "none outside a span");
  });

  it("ends a span when its promise settles and records a failure, which still reaches the caller", async () => {
    const failing = tracer.span("fails", () => Promise.reject(new Error("disk full")), { parent: null });
    await assert.rejects(failing, /disk full/);
    const s = named("fails");
    assert.equal(s?.status.code, 2); // ERROR
    assert.equal(s?.events[0]?.name, "exception");
    assert.throws(() => tracer.span("throws", () => assert.fail("sync"), { parent: null }));
    assert.equal(named("throws")?.status.code, 2);
  });
});

describe("tracePort and traceTransactions (spans without tracing code in core or the stores)", () => {
  beforeEach(() => exporter.reset());

  class Store {
    readonly #rows: string[] = [];
    #hook: (() => void) | undefined;
    onError: () => string = () => "first";
    async add(row: string): Promise<number> {
      return this.#rows.push(row);
    }
    set hook(fn: () => void) {
      this.#hook = fn;
    }
    fire(): void {
      this.#hook?.();
    }
  }

  it("makes each call of a port a client span <Port>.<method> under the active span, the adapter's private fields intact", async () => {
    const store = tracePort(tracer, "RowStore", new Store(), { "db.system.name": "sqlite" });
    let fired = false;
    store.hook = () => {
      fired = true;
    };
    await tracer.span(
      "request",
      async () => {
        assert.equal(await store.add("a"), 1);
        store.fire();
      },
      { parent: null },
    );
    assert.ok(fired, "the setter reached the adapter");
    const add = named("RowStore.add");
    assert.equal(add?.attributes["styx.port"], "RowStore");
    assert.equal(add?.attributes["db.system.name"], "sqlite");
    assert.equal(add?.parentSpanContext?.spanId, named("request")?.spanContext().spanId);
  });

  it("reads a function property back as it was last set (the wrapper follows the value, not the name)", () => {
    const store = tracePort(tracer, "RowStore", new Store());
    assert.equal(store.onError(), "first");
    store.onError = () => "second";
    assert.equal(store.onError(), "second");
  });

  it("hands the port back untouched when tracing is off", () => {
    const store = new Store();
    assert.equal(tracePort(noTracer, "RowStore", store), store);
  });

  it("makes every SQLite transaction a span sqlite.transaction, inside the store call that ran it", () => {
    const db = openDatabase(":memory:", { migrate: false });
    try {
      traceTransactions(db, tracer);
      db.exec("CREATE TABLE t (x INTEGER)");
      const insert = db.prepare("INSERT INTO t VALUES (?)");
      tracer.span("EntryStore.insert", () => db.transaction((x: number) => insert.run(x)).immediate(7), { parent: null });
      const tx = named("sqlite.transaction");
      assert.equal(tx?.attributes["db.system.name"], "sqlite");
      assert.equal(tx?.attributes["styx.sqlite.mode"], "immediate");
      assert.equal(tx?.parentSpanContext?.spanId, named("EntryStore.insert")?.spanContext().spanId);
      assert.equal((db.prepare("SELECT x FROM t").get() as { x: number }).x, 7, "the transaction ran");
    } finally {
      db.close();
    }
  });
});
