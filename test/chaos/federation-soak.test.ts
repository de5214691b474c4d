import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BASE_HALF_LIFE_MS } from "../../src/core/coordination/pheromone.js";
import { RELAY_BATCH } from "../../src/core/federation/relay.js";
import { call, freePort } from "../../src/testing/chaos-kit.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import { DepositTally, depositLoad, type Ledger, readLedger, type SoakCell, SoakNode, sizeOf } from "../../src/testing/federation-soak.js";

/**
 * Proof: a federation link survives restarts of both ends under load, and both ends agree at the
 * end (SPEC §17; issue 20, acceptance 3).
 *
 * Two micronodes on loopback, each on its own data dir (not amnesia): U the upstream, D linked to
 * it with a federate key (flows pheromone, lethe and causal; domain defi). For
 * STYX_FED_SOAK_SECONDS (default 600, the acceptance run; CI runs 120, which scripts/test-chaos.mjs sets)
 * GOLEMS golems on each side deposit in defi at RATE per second per side, on cells only U
 * deposits, cells only D deposits and cells both deposit, one of each on every layer. Meanwhile U
 * is killed and restarted three times (SIGKILL, SIGTERM, SIGKILL) and D once (SIGTERM), spread
 * out; each outage lasts DOWN_MS and the time the link takes to catch up after each restart is
 * measured. The deposits only: lethe (published after a delay, through hygiene and quorum) and
 * causal edges would make the end state a matter of timing rather than of the link.
 *
 * After a quiet period: (a) both sides sense the same live field in defi: the same cells, the
 * confirmations every golem of both sides makes (2×GOLEMS − 1 on a shared cell, GOLEMS − 1 on
 * the others) and intensities within the layer's bound (below); (b) read from each SQLite file
 * (the claims, the records relayed on U's federation:defi and its relay outbox, the deposits
 * announced on each domain:defi, local or `federated: true`): each (origin, id) claimed once, no
 * side announcing more applications than it claimed (nothing applied twice); a record relayed
 * twice only as a kill -9 of U between a relay's publish and its delete makes it (at least once:
 * at most one batch a kill, each repeat a duplicate to D's claims); the records U relayed are
 * exactly those D claimed and applied; U relayed every deposit it announced (the relay outbox is
 * written in the deposit's transaction, so a kill -9 cuts none: U's relay outbox ends empty, and
 * what U relayed beyond what it announced is a deposit stored but killed before its announce, a
 * request in flight at a kill); U claimed one record for each deposit D made. What a kill -9 of
 * U may still cut is counted, not hidden: a record claimed but not yet applied (the claim is
 * taken first, so a crash loses the record rather than applying it twice: at most one a kill);
 * (c) D's outbox is empty.
 *
 * The intensity bound: a record's `at` travels rounded down to the minute and a deposit matched
 * by reinforcement keeps max(current, deposited), so the two sides' decay histories differ. Both
 * values lie in [I·f, I], I the largest intensity deposited on the cell and f the decay over the
 * whole run plus that minute at the layer's base half-life (the slowest decay is faster than
 * that: confirmations only lengthen it), so they differ by at most 1 − f.
 */

const SECONDS = Number(process.env.STYX_FED_SOAK_SECONDS ?? 600);
/** Deposits per second on each side. */
const RATE = 6;
const GOLEMS = 4;
const DOMAIN = "defi";
/** How long each killed process stays down before its restart. */
const DOWN_MS = 8_000;
/** How long the link may take to catch up after a restart, or at the end. */
const CATCH_UP_MS = 120_000;
/** Outages, at fractions of the run. */
const OUTAGES = [
  { at: 0.15, side: "U", signal: "SIGKILL" },
  { at: 0.35, side: "D", signal: "SIGTERM" },
  { at: 0.55, side: "U", signal: "SIGTERM" },
  { at: 0.75, side: "U", signal: "SIGKILL" },
] as const;

const LAYERS = ["threat", "opportunity", "wisdom"] as const;
const CELLS: SoakCell[] = LAYERS.flatMap((layer) => [
  { cls: `both-${layer}-1`, layer, by: "both" as const },
  { cls: `both-${layer}-2`, layer, by: "both" as const },
  { cls: `u-${layer}`, layer, by: "U" as const },
  { cls: `d-${layer}`, layer, by: "D" as const },
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A user with GOLEMS golems on `node`. */
async function owner(node: SoakNode, id: string): Promise<{ key: string; golems: string[] }> {
  await node.admin("POST", "/v1/admin/users", { id });
  const { key } = await node.admin("POST", `/v1/admin/users/${id}/keys`, { name: "soak" });
  const golems: string[] = [];
  for (let i = 0; i < GOLEMS; i++) {
    const g = await call(node.url, "POST", "/v1/styx/golems", key, { id: `${id}-g${i}` });
    assert.equal(g.status, 201, g.text);
    golems.push(g.json.id);
  }
  return { key, golems };
}

/** The live field of defi as a side senses it: class → layer, confirmations, current intensity. */
async function field(node: SoakNode, key: string) {
  const r = await call(node.url, "GET", `/v1/styx/pheromone/sense?domains=${DOMAIN}&limit=500`, key);
  assert.equal(r.status, 200, r.text);
  const m = new Map<string, { layer: (typeof LAYERS)[number]; confirmations: number; intensity: number }>();
  for (const p of r.json.domains[DOMAIN].pheromones) {
    assert.ok(!m.has(p.class), `${node.name} has two live pheromones of ${p.class}`);
    m.set(p.class, { layer: p.layer, confirmations: p.confirmations, intensity: p.intensity });
  }
  return m;
}

describe("federation soak: U and D restarted under deposits on both sides", () => {
  const root = mkdtempSync(join(tmpdir(), "styx-fed-soak-"));
  let U: SoakNode | undefined;
  let D: SoakNode | undefined;
  after(async () => {
    await Promise.all([U?.kill("SIGTERM"), D?.kill("SIGTERM")]);
    rmSync(root, { recursive: true, force: true });
  });

  it("ends with the same field on both sides, every record applied once, the outbox empty", {
    timeout: (SECONDS + 900) * 1000,
  }, async () => {
    for (const d of ["u", "d"]) mkdirSync(join(root, d));
    const u = new SoakNode("U", join(root, "u"), await freePort(), {});
    U = u;
    await u.start();
    await u.admin("POST", "/v1/admin/users", { id: "d-styx" });
    const fed = await u.admin("POST", "/v1/admin/users/d-styx/keys", { name: "federation", scopes: ["federate"] });
    const d = new SoakNode("D", join(root, "d"), await freePort(), {
      STYX_UPSTREAM_URL: u.url,
      STYX_UPSTREAM_KEY: fed.key,
      STYX_FEDERATE: "pheromone,lethe,causal",
      STYX_FEDERATE_DOMAINS: DOMAIN,
    });
    D = d;
    await d.start();
    const [uOwner, dOwner] = [await owner(u, "soak-u"), await owner(d, "soak-d")];
    const dView = () => d.admin("GET", "/v1/admin/federation");
    const connected = await until("D's link connected", async () => (await dView()).upstream?.state === "connected", 60_000);
    assert.ok(connected);
    const uId = (await u.admin("GET", "/v1/admin/federation")).instance_id as string;
    const dId = (await dView()).instance_id as string;

    // D's view every half second while it runs: the outbox's depth.
    let maxDepth = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (d.up) {
          try {
            maxDepth = Math.max(maxDepth, (await dView()).upstream.outbox_depth);
          } catch {
            // D going down under the sample
          }
        }
        await sleep(500);
      }
    })();

    /** Waits until D's outbox is back to a second's deposits and D follows U's records up to `target`; answers the seconds taken. */
    const catchUp = async (target: number, quiet = false) => {
      const t0 = performance.now();
      await until(
        `the link caught up with U's federation stream at ${target}`,
        async () => {
          const v = (await dView()).upstream;
          const cursor = v.cursors[`federation:${DOMAIN}`]?.seq ?? 0;
          return v.state === "connected" && v.outbox_depth <= (quiet ? 0 : RATE) && cursor >= target;
        },
        CATCH_UP_MS,
      );
      return Number(((performance.now() - t0) / 1000).toFixed(1));
    };

    const tallies = { U: new DepositTally(), D: new DepositTally() };
    const loads = [
      depositLoad(
        u,
        uOwner,
        CELLS.filter((c) => c.by !== "D"),
        DOMAIN,
        RATE,
        tallies.U,
      ),
      depositLoad(
        d,
        dOwner,
        CELLS.filter((c) => c.by !== "U"),
        DOMAIN,
        RATE,
        tallies.D,
      ),
    ];
    const started = performance.now();
    const catchUps: string[] = [];
    try {
      for (const o of OUTAGES) {
        const wait = started + o.at * SECONDS * 1000 - performance.now();
        if (wait > 0) await sleep(wait);
        const node = o.side === "U" ? u : d;
        await node.kill(o.signal);
        await sleep(DOWN_MS);
        await node.start();
        catchUps.push(`${o.side} ${o.signal === "SIGKILL" ? "kill -9" : "SIGTERM"} ${await catchUp(u.lastRecordSeq(DOMAIN, uId))}`);
      }
      const rest = started + SECONDS * 1000 - performance.now();
      if (rest > 0) await sleep(rest);
    } finally {
      for (const l of loads) await l.stop();
    }
    const duration = (performance.now() - started) / 1000;
    const finalCatchUp = await catchUp(u.lastRecordSeq(DOMAIN, uId), true);
    sampling = false;
    await sampler;

    // (c) D's outbox is empty (the catch-up waited for it; read once more).
    assert.equal((await dView()).upstream.outbox_depth, 0);

    // (a) The same live field on both sides.
    const [fu, fd] = [await field(u, uOwner.key), await field(d, dOwner.key)];
    assert.deepEqual([...fu.keys()].sort(), CELLS.map((c) => c.cls).sort(), "U senses every cell");
    assert.deepEqual([...fd.keys()].sort(), [...fu.keys()].sort(), "D senses the cells U senses");
    const maxDiff = new Map<string, number>(LAYERS.map((l) => [l, 0]));
    for (const cell of CELLS) {
      const [a, b] = [fu.get(cell.cls), fd.get(cell.cls)];
      assert.ok(a && b);
      assert.equal(a.layer, cell.layer);
      assert.equal(b.layer, cell.layer);
      const expected = cell.by === "both" ? 2 * GOLEMS - 1 : GOLEMS - 1;
      assert.equal(a.confirmations, expected, `${cell.cls} on U: every golem of the depositing sides confirms it`);
      assert.equal(b.confirmations, expected, `${cell.cls} on D: every golem of the depositing sides confirms it`);
      const bound = 1 - 2 ** (-(duration * 1000 + 60_000 + finalCatchUp * 1000) / BASE_HALF_LIFE_MS[cell.layer]);
      const diff = Math.abs(a.intensity - b.intensity);
      assert.ok(diff <= bound, `${cell.cls}: U ${a.intensity} vs D ${b.intensity} differ by more than ${bound}`);
      maxDiff.set(cell.layer, Math.max(maxDiff.get(cell.layer) ?? 0, diff));
    }

    // (b) Read from each SQLite file, both processes stopped.
    await Promise.all([u.kill("SIGTERM"), d.kill("SIGTERM")]);
    const lu: Ledger = readLedger(u, DOMAIN);
    const ld: Ledger = readLedger(d, DOMAIN);
    assert.deepEqual([...lu.partialStreams, ...ld.partialStreams], [], "the histories counted are whole");
    assert.deepEqual([...ld.claims.keys()], [uId], "D applied records of U's origin only");
    assert.deepEqual([...lu.claims.keys()], [dId], "U applied records of D's origin only");
    assert.equal(lu.claimRows, sizeOf(lu.claims, dId), "each (origin, id) claimed once on U");
    assert.equal(ld.claimRows, sizeOf(ld.claims, uId), "each (origin, id) claimed once on D");
    // Nothing applied twice: no side announced more applications than it claimed records. A record relayed twice is a
    // kill -9 of U between the relay's publish and its delete (at least once; at most one batch a kill): D claims it once.
    const kills9 = OUTAGES.filter((o) => o.side === "U" && o.signal === "SIGKILL").length;
    const relayedTwice = lu.relayedEvents - [...lu.relayed.values()].reduce((n, set) => n + set.size, 0);
    assert.ok(relayedTwice <= kills9 * RELAY_BATCH, `U relayed ${relayedTwice} records twice`);
    const relayedU = lu.relayed.get(uId) ?? new Set<string>();
    const claimedD = ld.claims.get(uId) ?? new Set<string>();
    const claimedU = sizeOf(lu.claims, dId);
    assert.ok(ld.federatedDeposits <= claimedD.size, `D applied ${ld.federatedDeposits} records, claimed ${claimedD.size}`);
    assert.ok(lu.federatedDeposits <= claimedU, `U applied ${lu.federatedDeposits} records, claimed ${claimedU}`);
    // U → D: what U relayed of its own is exactly what D claimed, and D (never killed -9) applied each.
    const lostUD = [...relayedU].filter((id) => !claimedD.has(id));
    assert.deepEqual(lostUD, [], "every record U relayed was applied by D");
    assert.deepEqual(
      [...claimedD].filter((id) => !relayedU.has(id)),
      [],
      "D applied no record U did not relay",
    );
    assert.equal(ld.federatedDeposits, claimedD.size, "D applied each record it claimed");
    // D → U: each deposit D made was queued in its transaction and claimed by U once.
    assert.equal(claimedU, ld.localDeposits, "U claimed a record for each deposit D made");
    assert.ok(sizeOf(lu.relayed, dId) <= claimedU);
    // A kill -9 of U cuts no relay: each own record is written to the relay outbox in its deposit's transaction and
    // published after the restart when the kill came first. So U relayed every deposit it announced, its relay outbox is
    // empty, and what it relayed beyond what it announced is a deposit stored but killed before its announce (a request
    // in flight at a kill, never acknowledged).
    assert.equal(lu.relayWaiting, 0, "U's relay outbox is empty");
    const unannounced = relayedU.size - lu.localDeposits;
    assert.ok(unannounced >= 0 && unannounced <= tallies.U.inFlightAtKill, `U made ${lu.localDeposits}, relayed ${relayedU.size}`);
    // What a kill -9 of U may still cut, counted: a record of D claimed but killed before it was applied and announced
    // (the store's rule: a crash between the two loses the record rather than applying it twice; a push is applied one
    // record at a time, so one a kill).
    const unapplied = claimedU - lu.federatedDeposits;
    assert.ok(unapplied <= kills9, `U claimed ${claimedU} records of D and applied ${lu.federatedDeposits}`);
    // The clients' view agrees: what was acknowledged was made; at most the requests in flight at a kill were made unseen.
    for (const [side, made] of [
      ["U", lu.localDeposits],
      ["D", ld.localDeposits],
    ] as const) {
      const t = tallies[side];
      assert.ok(
        t.acked <= made && made <= t.acked + t.inFlightAtKill,
        `${side}: acked ${t.acked}, made ${made}, in flight ${t.inFlightAtKill}`,
      );
      assert.ok(t.failures <= 5, `${side}: ${t.failures} deposits failed while it ran, e.g. ${JSON.stringify(t.examples)}`);
    }

    reportFigures("federation soak (U restarted 3×, D 1×, deposits both ways)", {
      "duration s": Math.round(duration),
      "deposits per s per side": RATE,
      "golems per side": GOLEMS,
      "U deposits acknowledged": tallies.U.acked,
      "D deposits acknowledged": tallies.D.acked,
      "refused while down (U, D)": `${tallies.U.refusedWhileDown}, ${tallies.D.refusedWhileDown}`,
      "in flight at the kills (U, D)": `${tallies.U.inFlightAtKill}, ${tallies.D.inFlightAtKill}`,
      restarts: "U 3 (kill -9, SIGTERM, kill -9), D 1 (SIGTERM)",
      "records U→D made / relayed / applied by D": `${lu.localDeposits} / ${relayedU.size} / ${ld.federatedDeposits}`,
      "records D→U made / claimed / applied by U": `${ld.localDeposits} / ${claimedU} / ${lu.federatedDeposits}`,
      "max outbox depth": maxDepth,
      "catch-up s after each restart": catchUps.join(", "),
      "catch-up s after the load": finalCatchUp,
      "cells alike (class, confirmations)": `${CELLS.length}/${CELLS.length}`,
      "max intensity difference (threat, opportunity, wisdom)": LAYERS.map((l) => (maxDiff.get(l) ?? 0).toFixed(5)).join(", "),
      "records applied twice": 0,
      "records lost in transit": 0,
      "records relayed twice (a kill -9 of U between publish and delete)": relayedTwice,
      "records cut by a kill -9 of U (stored, never relayed; claimed, not applied)": `${lu.relayWaiting}; ${unapplied}`,
    });
  });
});

/** Polls `check` every 250 ms until it answers true; fails after `ms` with `what`. Errors of a node restarting count as not yet. */
async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<true> {
  const end = performance.now() + ms;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // a node not answering yet
    }
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(250);
  }
}
