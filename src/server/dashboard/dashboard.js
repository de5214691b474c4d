// The /admin page: polls GET /v1/admin/dashboard every second (admin token) and follows the
// field's domains over the socket, so a deposit shows at once. No build step: plain ES module,
// uPlot loaded by the page as a global.

const POLL_MS = 1000;
const WINDOW = 120; // chart points kept (two minutes at one per second)
const LAYERS = ["threat", "opportunity", "wisdom"];
const HUES = { threat: 0, opportunity: 130, wisdom: 210 };

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("styx-admin-token") ?? "", timer: 0, socket: null, domains: new Set(), last: null };
const series = { t: [], rate: [], conns: [] };
let charts = null;

/** Shows why the data was refused (and the token form). */
function refuse(status, body) {
  const code = body?.error?.code ?? "STYX_AUTH_REQUIRED";
  const message = body?.error?.message ?? "The admin token is required.";
  const box = $("refused");
  box.hidden = false;
  box.dataset.status = String(status);
  box.textContent = `Access refused (${status} ${code}): ${message}`;
  $("login").hidden = false;
  $("dashboard").hidden = true;
  $("status").textContent = "refused";
  $("status").className = "status";
  document.body.dataset.state = "refused";
  clearInterval(state.timer);
  state.socket?.close();
}

/** One poll of the data endpoint. */
async function poll() {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  let r;
  try {
    r = await fetch("/v1/admin/dashboard", { headers, cache: "no-store" });
  } catch {
    $("status").textContent = "server unreachable";
    return;
  }
  const body = await r.json().catch(() => null);
  if (r.status === 401 || r.status === 403) return refuse(r.status, body);
  if (!r.ok) {
    $("status").textContent = `error ${r.status}`;
    return;
  }
  show(body);
}

/** Renders one snapshot. */
function show(d) {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  document.body.dataset.state = "live";
  const now = Date.parse(d.generated_at) / 1000;
  const prev = state.last;
  const rate = prev ? Math.max(0, (d.events_total - prev.events_total) / Math.max(0.001, now - prev.t)) : 0;
  state.last = { t: now, events_total: d.events_total };
  series.t.push(now);
  series.rate.push(rate);
  series.conns.push(d.ws_connections);
  for (const s of Object.values(series)) if (s.length > WINDOW) s.shift();
  drawCharts();
  renderPulse(d);
  renderMarketplace(d.marketplace);
  renderFederation(d.federation);
  renderField(d.field);
  renderRows("deaths", d.recent_deaths, (x) => [x.golem_id, x.user_id, x.generation, x.death_cause, time(x.died_at)]);
  renderRows("keys", d.active_keys, (x) => [
    x.id,
    x.user_id,
    x.golem_id ?? "—",
    x.name,
    x.scopes.join(","),
    time(x.created_at),
    x.expires_at ? time(x.expires_at) : "never",
  ]);
  renderPayments(d.payments);
  $("status").textContent = `live · ${d.ws_connections} sockets · ${d.events_total} events`;
  $("status").className = "status live";
  follow(d.field.map((c) => c.domain));
}

function time(isoText) {
  return new Date(isoText).toISOString().replace("T", " ").slice(0, 19);
}

function drawCharts() {
  const data = [
    [series.t, series.rate],
    [series.t, series.conns],
  ];
  if (!charts) {
    const opts = (label, stroke) => ({
      width: $("chart-events").clientWidth || 400,
      height: 200,
      series: [{}, { label, stroke, width: 2, fill: `${stroke}22` }],
      axes: [
        { stroke: "#8a93a3", grid: { stroke: "#2a2f3a" } },
        { stroke: "#8a93a3", grid: { stroke: "#2a2f3a" } },
      ],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] } },
    });
    charts = [
      new globalThis.uPlot(opts("events/s", "#6cb6ff"), data[0], $("chart-events")),
      new globalThis.uPlot(opts("sockets", "#e3b341"), data[1], $("chart-connections")),
    ];
  } else {
    charts[0].setData(data[0]);
    charts[1].setData(data[1]);
  }
  $("chart-events").dataset.points = String(series.t.length);
  $("chart-connections").dataset.points = String(series.t.length);
}

/** The marketplace's figures (SPEC §16); the panel hides while it is off. */
function renderMarketplace(m) {
  $("market-panel").hidden = m === null;
  if (m === null) return;
  renderFigures("market", [
    ["active listings", m.active_listings],
    ["sales", m.sales],
    ["volume USD", m.volume_usd],
    ["fees USD", m.fees_usd],
    ["due payouts", m.due_payouts],
    ["due USD", m.due_usd],
  ]);
}

/** Federation (SPEC §17): the link to the upstream and the downstreams; the panel hides when this Styx federates with no one. */
function renderFederation(f) {
  $("federation-panel").hidden = f === null;
  if (f === null) return;
  renderFigures("federation", [
    ["upstream", f.upstream_state ?? "none"],
    ["upstream id", f.upstream_instance_id ?? "—"],
    ["outbox", f.outbox_depth],
    ["downstreams", f.downstreams],
    ["last error", f.last_error ?? "—"],
  ]);
}

/** Revenue (charged: accepted, settling, settled) and what waits for settlement. */
function renderPayments(p) {
  renderFigures("revenue", [
    ["pricing", p.pricing ? "on" : "off"],
    ["revenue", p.revenue_usd],
    ["settled", p.settled_usd],
    ["failed", p.failed_usd],
  ]);
  renderRows("revenue-ops", p.by_operation, (x) => [x.operation, x.amount_usd, x.count]);
  renderFigures("settlement", [
    ["pending payments", p.pending.count],
    ["of which settling", p.pending.settling],
    ["pending USD", p.pending.amount_usd],
    ["first expiry", p.pending.soonest_valid_before ? time(p.pending.soonest_valid_before) : "—"],
  ]);
}

function renderFigures(id, figures) {
  $(id).replaceChildren(
    ...figures.map(([k, v]) => {
      const div = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = String(v);
      div.append(dt, dd);
      return div;
    }),
  );
}

function renderPulse(d) {
  const p = d.pulse;
  const figures = [
    ["active golems", p.active_golems],
    ["dead (total)", p.dead_total],
    ["deaths 24 h", p.deaths_24h],
    ["live pheromones", d.pheromones_active],
    ...LAYERS.map((l) => [`${l} live`, p.pheromones[l].live]),
    ["sockets", d.ws_connections],
    ["pulse at", time(p.computed_at).slice(11)],
  ];
  renderFigures("pulse", figures);
}

/** The heat map: one row per domain, one cell per layer, coloured by intensity. */
function renderField(cells) {
  const rows = new Map();
  for (const c of cells) {
    if (!rows.has(c.domain)) rows.set(c.domain, {});
    rows.get(c.domain)[c.layer] = c;
  }
  const body = $("heatmap").tBodies[0];
  body.replaceChildren(...[...rows].map(([domain, byLayer]) => fieldRow(domain, byLayer)));
  $("heatmap-empty").hidden = rows.size > 0;
}

function fieldRow(domain, byLayer) {
  const tr = document.createElement("tr");
  tr.dataset.domain = domain;
  const th = document.createElement("th");
  th.textContent = domain;
  tr.append(th);
  for (const layer of LAYERS) tr.append(fieldCell(layer, byLayer[layer]?.level ?? 0, byLayer[layer]?.live ?? 0));
  return tr;
}

function fieldCell(layer, level, live) {
  const td = document.createElement("td");
  td.className = "cell";
  td.dataset.layer = layer;
  td.dataset.level = level.toFixed(3);
  td.title = `${layer}: ${level.toFixed(3)} (${live} live)`;
  td.style.background = level > 0 ? `hsl(${HUES[layer]} 80% ${85 - level * 45}%)` : "transparent";
  td.style.color = level > 0 ? "#000" : "#8a93a3";
  td.textContent = level > 0 ? level.toFixed(2) : "·";
  return td;
}

function renderRows(id, items, cells) {
  $(id).tBodies[0].replaceChildren(
    ...items.map((x) => {
      const tr = document.createElement("tr");
      for (const v of cells(x)) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** Opens the socket once and follows every domain the field shows (new ones as they appear). */
function follow(domains) {
  if (!state.socket) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/v1/styx/ws?token=${encodeURIComponent(state.token)}`);
    state.socket = ws;
    ws.onopen = () => subscribe([...state.domains], true);
    ws.onmessage = (m) => onFrame(JSON.parse(m.data));
    ws.onclose = () => {
      state.socket = null;
      state.domains.clear();
    };
  }
  const fresh = domains.filter((d) => !state.domains.has(d));
  for (const d of fresh) state.domains.add(d);
  if (fresh.length > 0 && state.socket.readyState === WebSocket.OPEN) subscribe(fresh, false);
}

function subscribe(domains, first) {
  if (domains.length === 0 && !first) return;
  state.socket.send(JSON.stringify({ type: "subscribe", domains: domains.slice(0, 256) }));
}

/** A socket frame: an event, a batch of events (array), or a control reply. */
function onFrame(frame) {
  for (const f of Array.isArray(frame) ? frame : [frame]) {
    if (!f.channel) continue;
    const p = f.payload ?? {};
    const li = document.createElement("li");
    li.textContent = `${time(new Date(f.ts).toISOString()).slice(11)} ${f.channel} ${p.domain ?? ""} ${p.layer ?? ""} ${p.class ?? ""} ${p.intensity ?? ""}`;
    $("live").prepend(li);
    while ($("live").children.length > 50) $("live").lastElementChild.remove();
    if (f.channel.startsWith("styx:pheromone:")) void poll();
  }
}

function start() {
  clearInterval(state.timer);
  state.last = null;
  void poll();
  state.timer = setInterval(poll, POLL_MS);
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("styx-admin-token", state.token);
  $("refused").hidden = true;
  start();
});

start();
