import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** Debian's Chromium (`.ci/run` installs it when missing); playwright-core downloads no browser. */
const CHROMIUM = process.env.STYX_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// Page functions run in the browser; the Node typecheck has no DOM library, so these stand in.
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null;
};
declare function getComputedStyle(element: unknown): { backgroundColor: string };
interface Canvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

const DOCS = join(import.meta.dirname, "..", "..", "docs");

describe("the /admin dashboard in a browser", () => {
  let s: TestServer;
  let user: { id: string; key: string; keyId: string };
  let profile: string;
  let browser: BrowserContext;
  let page: Page;

  const deposit = async (layer: string, domain: string, intensity: number) => {
    const r = await s.request("POST", "/v1/styx/pheromone/deposit", {
      token: user.key,
      body: { golem_id: "browser-g0", layer, class: "probe", intensity, domain, regime: "calm" },
    });
    assert.equal(r.status, 201, r.text);
  };

  before(async () => {
    s = await startTestServer();
    user = await s.user("browser-owner");
    await s.golem(user.key, { id: "browser-g0" });
    await s.golem(user.key, { id: "browser-g1" });
    await deposit("threat", "dex", 0.85);
    await deposit("opportunity", "lending", 0.55);
    await deposit("wisdom", "dex", 0.35);
    const death = await s.request("POST", "/v1/styx/bloodstain", {
      token: user.key,
      body: { golem_id: "browser-g1", generation: 0, death_cause: "liquidated", warnings: [], timestamp: "2026-01-01T00:00:00.000Z" },
    });
    assert.equal(death.status, 201, death.text);
    // A payment for the revenue and settlement panels (this Styx is unpriced: put in the ledger through its port).
    const ledger = s.styx.storage.payments;
    assert.ok(ledger);
    const now = Date.now();
    await ledger.reserve({
      id: "pay_browser1",
      network: "eip155:84532",
      asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
      payer: "0x00000000000000000000000000000000000000b1",
      nonce: `0x${"b1".repeat(32)}`,
      amount: 10_000,
      operation: "snapshot",
      purpose: "request",
      userId: user.id,
      keyId: user.keyId,
      golemId: null,
      payload: "{}",
      requirements: "{}",
      validBefore: Math.floor(now / 1000) + 300,
      createdAt: now,
    });
    await ledger.finish("pay_browser1", "accepted", now);
    profile = mkdtempSync(join(tmpdir(), "styx-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    mkdirSync(DOCS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("refuses without the token: the API answers 401 and the page shows the refusal", async () => {
    const api = await page.request.get(`${s.url}/v1/admin/dashboard`);
    assert.equal(api.status(), 401, "the data endpoint without a token");
    assert.equal((await api.json()).error.code, "STYX_AUTH_REQUIRED");
    await page.goto(`${s.url}/admin`);
    const refused = page.locator("#refused");
    await refused.waitFor({ state: "visible", timeout: 5000 });
    assert.match((await refused.textContent()) ?? "", /401 STYX_AUTH_REQUIRED/, "the page names the refusal");
    assert.equal(await page.locator("#dashboard").isVisible(), false, "no data panels without the token");
    assert.equal(await page.locator("#token-form").isVisible(), true, "the token form is offered");
    await page.screenshot({ path: join(DOCS, "dashboard-refused.png") });
  });

  it("refuses a wrong token too", async () => {
    await page.fill("#token", "not-the-admin-token");
    await page.click("#token-form button");
    await page.waitForFunction(() => document.querySelector("#refused")?.getAttribute("data-status") === "401", null, { timeout: 5000 });
    assert.match((await page.locator("#refused").textContent()) ?? "", /STYX_AUTH_INVALID_KEY/, "an invalid token is named as such");
  });

  it("with the token renders the charts, the heat map, pulse, deaths and keys", async () => {
    await page.fill("#token", s.adminToken);
    await page.click("#token-form button");
    await page.locator("#dashboard").waitFor({ state: "visible", timeout: 5000 });
    // Three polls give each chart a line of several points.
    await page.waitForFunction(() => Number(document.querySelector("#chart-events")?.getAttribute("data-points")) >= 3, null, {
      timeout: 10_000,
    });
    for (const id of ["#chart-events", "#chart-connections"]) {
      const size = await page.locator(`${id} canvas`).evaluate((c: Canvas) => ({ w: c.width, h: c.height }));
      assert.ok(size.w > 100 && size.h > 100, `${id} draws on a canvas (${size.w}×${size.h})`);
    }
    // The chart's canvas holds drawn (non-transparent) pixels.
    const drawn = await page.locator("#chart-events canvas").evaluate((c: Canvas) =>
      c
        .getContext("2d")
        ?.getImageData(0, 0, c.width, c.height)
        .data.some((v, i) => i % 4 === 3 && v > 0),
    );
    assert.equal(drawn, true, "the events chart has pixels");
    const cell = page.locator('#heatmap tr[data-domain="dex"] td[data-layer="threat"]');
    assert.ok(Number(await cell.getAttribute("data-level")) > 0.8, "dex × threat shows its intensity");
    const background = await cell.evaluate((td) => getComputedStyle(td).backgroundColor);
    assert.notEqual(background, "rgba(0, 0, 0, 0)", "a live cell is coloured");
    assert.equal(await page.locator('#heatmap tr[data-domain="lending"]').count(), 1, "every live domain has a row");
    assert.match((await page.locator("#pulse").textContent()) ?? "", /live pheromones/, "pulse figures");
    assert.match((await page.locator("#deaths").textContent()) ?? "", /browser-g1.*liquidated/, "the recent death");
    assert.match((await page.locator("#keys").textContent()) ?? "", new RegExp(user.keyId), "the owner's active key");
    assert.match((await page.locator("#revenue").textContent()) ?? "", /revenue\s*0\.01/, "revenue of the last 30 days");
    assert.match((await page.locator("#revenue-ops").textContent()) ?? "", /snapshot\s*0\.01\s*1/, "revenue by operation");
    assert.match((await page.locator("#settlement").textContent()) ?? "", /pending payments\s*1/, "pending settlement");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.includes("1 sockets"), null, { timeout: 5000 });
  });

  it("shows a pheromone deposited now within 2 s, and its event arrives over the socket", async () => {
    const started = Date.now();
    await deposit("threat", "oracle", 0.95);
    await page.locator('#heatmap tr[data-domain="oracle"] td[data-layer="threat"]').waitFor({ timeout: 2000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed <= 2000, `the new domain appeared after ${elapsed} ms`);
    // The page follows the field's domains over the socket: a second deposit in a followed
    // domain comes in as a styx:pheromone:deposit frame.
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.includes("live"), null, { timeout: 2000 });
    await new Promise((r) => setTimeout(r, 300)); // the subscribe for "oracle" goes out after the poll that showed it
    await deposit("opportunity", "oracle", 0.7);
    await page.waitForFunction(
      () => /styx:pheromone:deposit oracle opportunity/.test(document.querySelector("#live")?.textContent ?? ""),
      null,
      {
        timeout: 2000,
      },
    );
    await page.waitForFunction(
      () =>
        Number(document.querySelector('#heatmap tr[data-domain="oracle"] td[data-layer="opportunity"]')?.getAttribute("data-level")) > 0.6,
      null,
      { timeout: 2000 },
    );
    await page.screenshot({ path: join(DOCS, "dashboard.png"), fullPage: true });
  });
});
