import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { GATEWAY_ADMIN_TOKEN, type Gateway, startGateway, testCluster } from "../../src/testing/gateways.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { type ServiceName, startService, stopService } from "../../src/testing/service-control.js";
import { SERVICES } from "../../src/testing/services.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Restarts PostgreSQL, NATS and Redis in turn under a steady load of entry writes (through two
 * gateways) and relayed events (golem on A, owner's surface on B). Nothing acknowledged may be
 * lost, /readyz must show each outage, and the gateways must recover without a restart.
 * This stops the machine's own services, so test:services runs it last and alone (test/faults).
 */
describe("Faults under load: PostgreSQL, NATS and Redis restarted in turn", { timeout: 300_000 }, () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;
  let key: string;
  let golemId: string;

  before(async () => {
    s3 = await startS3Server();
    [a, b] = await Promise.all([startGateway(cluster.name, s3), startGateway(cluster.name, s3)]);
    const id = `fault-${Date.now().toString(36)}`;
    assert.equal((await a.request("POST", "/v1/admin/users", { token: GATEWAY_ADMIN_TOKEN, body: { id } })).status, 201);
    key = (await a.request("POST", `/v1/admin/users/${id}/keys`, { token: GATEWAY_ADMIN_TOKEN, body: { name: "faults" } })).json.key;
    golemId = (await a.request("POST", "/v1/styx/golems", { token: key, body: {} })).json.id;
  });

  after(async () => {
    // Whatever happened, the machine's services are left running.
    for (const s of ["postgres", "nats", "redis"] as const) await startService(s).catch(() => {});
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  it("loses no acknowledged write or event, shows each outage on /readyz, and recovers without restarts", async () => {
    let stop = false;
    const statuses = new Map<number, number>();
    const ackedWrites: string[] = [];
    let writesTried = 0;
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const gw = (w + n) % 2 ? b : a;
        const idem = `w${w}-${n}`;
        writesTried++;
        const r = await gw
          .request("POST", "/v1/styx/entries", {
            token: key,
            body: { golem_id: golemId, layer: "vault", category: "insight", content: `fault write ${idem}`, idempotency_key: idem },
          })
          .catch(() => ({ status: -1, json: undefined, text: "" }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 201) ackedWrites.push(r.json.id);
        else await sleep(50);
      }
    };

    const golem = await TestSocket.connect(a.url, key);
    const surface = await TestSocket.connect(b.url, key);
    const ackedEvents = new Map<number, number>(); // seq → n
    let eventErrors = 0;
    const eventErrorCodes = new Map<string, number>();
    const eventLoop = async () => {
      let n = 0;
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => ++n);
        const answers = await Promise.all(
          batch.map((i) =>
            golem.sock
              .request({ type: "event", golem_id: golemId, event: { type: "golem:tick", n: i } }, 10_000)
              .then((f) => [i, f] as const)
              .catch(() => [i, undefined] as const),
          ),
        );
        for (const [i, f] of answers) {
          if (f?.type === "ack") ackedEvents.set(f.seq, i);
          else {
            eventErrors++;
            const code = f?.type === "error" ? String(f.code) : "no answer";
            eventErrorCodes.set(code, (eventErrorCodes.get(code) ?? 0) + 1);
          }
        }
        await sleep(50);
      }
    };

    const readiness: Record<string, { sawDown: boolean; reasons: Set<string>; recoveredMs: number; readsProbes: Map<number, number> }> = {};
    const loads = [writer(0), writer(1), writer(2), eventLoop()];
    await sleep(3000);
    for (const service of ["postgres", "nats", "redis"] as ServiceName[]) {
      const seen = { sawDown: false, reasons: new Set<string>(), recoveredMs: -1, readsProbes: new Map<number, number>() };
      readiness[service] = seen;
      const watch = async () => {
        for (const g of [a, b]) {
          const r = await g.request("GET", "/readyz").catch(() => undefined);
          if (r?.status === 503) {
            seen.sawDown = true;
            for (const reason of r.json?.reasons ?? []) seen.reasons.add(reason);
            // A balancer probing for reads keeps the gateway: reads it can serve still reach it.
            const reads = await g.request("GET", "/readyz?for=reads").catch(() => undefined);
            const status = reads?.status ?? -1;
            seen.readsProbes.set(status, (seen.readsProbes.get(status) ?? 0) + 1);
          }
        }
      };
      await stopService(service);
      const downUntil = Date.now() + 4000;
      while (Date.now() < downUntil) {
        await watch();
        await sleep(200);
      }
      const startedAt = Date.now();
      await startService(service);
      // Recovered: both gateways ready again and a write through each succeeds, without restarting them.
      for (;;) {
        const ready = await Promise.all([a, b].map((g) => g.request("GET", "/readyz").catch(() => undefined)));
        if (ready.every((r) => r?.status === 200)) {
          const writes = await Promise.all(
            [a, b].map((g) =>
              g.request("POST", "/v1/styx/entries", {
                token: key,
                body: { golem_id: golemId, layer: "vault", category: "insight", content: `after ${service}` },
              }),
            ),
          );
          if (writes.every((w) => w.status === 201)) {
            for (const w of writes) ackedWrites.push(w.json.id);
            break;
          }
        }
        assert.ok(Date.now() - startedAt < 60_000, `gateways not recovered 60 s after ${service} came back`);
        await sleep(200);
      }
      seen.recoveredMs = Date.now() - startedAt;
      await sleep(2000);
    }
    stop = true;
    await Promise.all(loads);

    for (const [service, seen] of Object.entries(readiness)) {
      assert.ok(seen.sawDown, `/readyz never answered 503 while ${service} was down`);
      assert.ok(
        [...seen.reasons].some((r) => r.includes(service)),
        `/readyz reasons while ${service} was down: ${[...seen.reasons].join("; ")}`,
      );
      assert.deepEqual(
        [...seen.readsProbes.keys()],
        [200],
        `/readyz?for=reads while ${service} was down (status: count): ${JSON.stringify([...seen.readsProbes])}`,
      );
    }
    assert.equal(statuses.get(500) ?? 0, 0, `500s answered: ${JSON.stringify([...statuses])}`);
    for (const g of [a, b]) {
      assert.match(g.server.output(), /rate limits fall back to this gateway's own buckets/, "the Redis outage is logged");
      assert.match(g.server.output(), /shared rate limits \(Redis\) restored/, "and its end");
    }
    assert.equal(eventErrorCodes.get("STYX_INTERNAL") ?? 0, 0, `socket errors: ${JSON.stringify([...eventErrorCodes])}`);

    // Every acknowledged write is in PostgreSQL.
    const sql = postgres(SERVICES.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const found = await sql<{ id: string }[]>`SELECT id FROM ${sql(cluster.name)}.entries WHERE id = ANY(${ackedWrites})`;
      assert.equal(found.length, new Set(ackedWrites).size, "acknowledged writes missing from PostgreSQL");
    } finally {
      await sql.end();
    }

    // Every acknowledged event is in the history, with its payload, and reached the surface on B.
    const userStream = Object.keys(golem.welcome.streams ?? {}).find((s) => s.startsWith("user:"));
    assert.ok(userStream, "welcome names the user stream");
    const reader = await TestSocket.connect(b.url, key);
    const epoch = reader.welcome.streams[userStream].epoch;
    const maxSeq = Math.max(...ackedEvents.keys());
    const r = await reader.sock.request({ type: "resume", streams: { [userStream]: { epoch, seq: 0 } } });
    assert.equal(r.streams[userStream].recovered, true, JSON.stringify(r.streams[userStream]));
    await reader.sock.until(() => reader.sock.events(userStream).length >= maxSeq || undefined, 30_000);
    const history = new Map(reader.sock.events(userStream).map((e) => [e.seq as number, e.payload.n as number]));
    for (const [seq, n] of ackedEvents) assert.equal(history.get(seq), n, `acknowledged event seq ${seq} (n ${n}) missing or different`);
    const live = new Set(surface.sock.events(userStream).map((e) => e.seq));
    const missedLive = [...ackedEvents.keys()].filter((s) => !live.has(s));
    assert.deepEqual(missedLive, [], "acknowledged events the surface on B never received live");

    const summary = {
      writes_tried: writesTried,
      writes_acked: ackedWrites.length,
      statuses: Object.fromEntries(statuses),
      events_acked: ackedEvents.size,
      event_errors: eventErrors,
      event_error_codes: Object.fromEntries(eventErrorCodes),
      recovery_ms: Object.fromEntries(Object.entries(readiness).map(([k, v]) => [k, v.recoveredMs])),
    };
    console.log(`# faults: ${JSON.stringify(summary)}`);
    assert.ok(ackedWrites.length > 50 && ackedEvents.size > 50, `too little load to mean anything: ${JSON.stringify(summary)}`);
    await Promise.all([golem.sock.close(), surface.sock.close(), reader.sock.close()]);
  });
});
