import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  GENERALIZER_SYSTEM_PROMPT,
  maxAnswerChars,
  OpenAiGeneralizer,
  type OpenAiGeneralizerOptions,
} from "../../../src/adapters/http/openai-generalizer.js";
import { openAiEndpoint } from "../../../src/adapters/http/openai-protocol.js";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";
import { type ChatBehaviour, type ChatRequest, type FakeChat, lastUserText, startFakeChat } from "../../../src/testing/fake-chat-server.js";

const KEY = "sk-test-anonymizer-0123456789-very-secret";
/** A marker in every text sent: no failure reason may repeat it. */
const MARK = "zebra-quartz-insight";
const TEXT = `${MARK}: funding flipped negative an hour before the liquidation cascade`;

const servers: FakeChat[] = [];
async function fake(answer?: (req: ChatRequest) => ChatBehaviour, apiKey?: string) {
  const s = await startFakeChat({ ...(answer ? { answer } : {}), ...(apiKey ? { apiKey } : {}) });
  servers.push(s);
  return s;
}
const reasons: string[] = [];
const generalizer = (url: string, opts: Partial<OpenAiGeneralizerOptions> = {}) =>
  new OpenAiGeneralizer({ url, model: "fake-chat-model", onFailure: (r) => reasons.push(r), ...opts });

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("openAiEndpoint for chat completions", () => {
  it("accepts a bare origin, a /v1 base or the full endpoint", () => {
    for (const base of ["http://h:8080", "http://h:8080/", "http://h:8080/v1", "http://h:8080/v1/chat/completions/"]) {
      assert.equal(openAiEndpoint(base, "chat/completions", "anonymizer"), "http://h:8080/v1/chat/completions", base);
    }
  });

  it("keeps path prefixes and query strings, and names the client in its refusals", () => {
    assert.equal(
      openAiEndpoint("https://gw.example/openai?x=1", "chat/completions", "anonymizer"),
      "https://gw.example/openai/v1/chat/completions?x=1",
    );
    assert.throws(() => new OpenAiGeneralizer({ url: "https://user:pw@h/v1" }), /anonymizer URL must not carry credentials/);
    assert.throws(() => new OpenAiGeneralizer({ url: "ftp://h" }), /anonymizer URL must use http or https/);
  });
});

describe("OpenAiGeneralizer against a fake chat completions server", () => {
  it("sends the fixed instruction and the text at temperature 0, and answers the model's text trimmed", async () => {
    const s = await fake(() => ({ content: "\n  A funding flip tends to precede a liquidation cascade.  \n" }));
    const out = await generalizer(`${s.url}/v1`).generalize(TEXT);
    assert.equal(out, "A funding flip tends to precede a liquidation cascade.");
    assert.equal(s.received.length, 1);
    const req = s.received[0];
    assert.ok(req);
    assert.equal(req.body.model, "fake-chat-model");
    assert.deepEqual(req.body.messages, [
      { role: "system", content: GENERALIZER_SYSTEM_PROMPT },
      { role: "user", content: TEXT },
    ]);
    assert.equal(req.body.temperature, 0);
    assert.equal(req.body.stream, false);
    assert.equal(req.body.max_tokens, Math.ceil(maxAnswerChars(TEXT.length) / 2));
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.headers.authorization, undefined, "no key, no Authorization header");
  });

  it("sends the API key as a bearer token, and a wrong key leaves the text as it was without repeating the key", async () => {
    const s = await fake((req) => ({ content: `general: ${lastUserText(req).length}` }), KEY);
    assert.equal(await generalizer(s.url, { apiKey: KEY }).generalize(TEXT), `general: ${TEXT.length}`);
    assert.equal(s.received.at(-1)?.headers.authorization, `Bearer ${KEY}`);
    const before = reasons.length;
    assert.equal(await generalizer(s.url, { apiKey: "sk-wrong-key-987654321" }).generalize(TEXT), undefined);
    assert.match(reasons.slice(before).join("\n"), /HTTP 401 \(invalid_api_key\)/);
  });

  it("gives up at the timeout, within the budget, when the endpoint never answers", async () => {
    const s = await fake(() => ({ hang: true }));
    const before = reasons.length;
    const t0 = performance.now();
    assert.equal(await generalizer(s.url, { timeoutMs: 300 }).generalize(TEXT), undefined);
    const ms = performance.now() - t0;
    assert.ok(ms >= 290 && ms < 1300, `took ${ms.toFixed(0)} ms for a 300 ms budget`);
    assert.deepEqual(reasons.slice(before), ["no answer within 300 ms"]);
  });

  it("answers undefined on a 500, a dropped connection, an unreachable port and a body that is not JSON", async () => {
    const behaviours: [ChatBehaviour, RegExp][] = [
      [{ status: 500 }, /^HTTP 500 \(server_error\)$/],
      [{ status: 429 }, /^HTTP 429/],
      [{ status: 0 }, /^unreachable/],
      [{ raw: "<html>502 Bad Gateway</html>" }, /not JSON/],
      [{ raw: JSON.stringify({ object: "list", data: [] }) }, /not a chat completion/],
      [{ raw: JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: null } }] }) }, /no text content/],
    ];
    const s = await fake();
    for (const [b, reason] of behaviours) {
      s.setAnswer(() => b);
      const before = reasons.length;
      assert.equal(await generalizer(s.url).generalize(TEXT), undefined, JSON.stringify(b));
      assert.match(reasons.slice(before).join("\n"), reason, JSON.stringify(b));
    }
    assert.equal(await generalizer("http://127.0.0.1:1").generalize(TEXT), undefined);
  });

  it("refuses truncated, filtered, refused, empty and overlong answers instead of cutting them", async () => {
    const limit = maxAnswerChars(TEXT.length);
    const s = await fake();
    const cases: [ChatBehaviour, string | undefined][] = [
      [{ content: "half an answ", finishReason: "length" }, undefined],
      [{ content: "", finishReason: "content_filter" }, undefined],
      [{ content: "", refusal: "I can't help with that." }, undefined],
      [{ content: "   \n " }, undefined],
      [{ content: "x".repeat(limit + 1) }, undefined],
      [{ content: "y".repeat(limit) }, "y".repeat(limit)],
    ];
    for (const [b, expected] of cases) {
      s.setAnswer(() => b);
      assert.equal(await generalizer(s.url).generalize(TEXT), expected, JSON.stringify(b).slice(0, 80));
    }
  });

  it("stops reading an answer body larger than the cap", async () => {
    const s = await fake(() => ({ raw: `{"pad":"${"z".repeat(4 * 1024 * 1024)}"}` }));
    const before = reasons.length;
    assert.equal(await generalizer(s.url).generalize(TEXT), undefined);
    assert.deepEqual(reasons.slice(before), ["the answer body is too large"]);
  });

  it("does not send texts over its input cap, nor more requests than its concurrency allows", async () => {
    const s = await fake(() => ({ hang: true }));
    const g = generalizer(s.url, { maxInputChars: 100, maxConcurrent: 1, timeoutMs: 400 });
    assert.equal(await g.generalize("w ".repeat(51)), undefined);
    assert.equal(s.received.length, 0, "an over-cap text was sent");
    const first = g.generalize(TEXT);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    assert.equal(await g.generalize(TEXT), undefined);
    assert.ok(performance.now() - t0 < 100, "the second call waited for the first");
    assert.equal(await first, undefined);
    assert.equal(s.received.length, 1);
  });

  it("never puts the text, the answer or the key in a failure reason", () => {
    assert.ok(reasons.length >= 10, `${reasons.length} reasons collected`);
    for (const r of reasons) {
      assert.ok(!r.includes(MARK) && !r.includes(KEY) && !r.includes("sk-wrong-key") && !r.includes("zzzz"), r);
    }
  });
});

describe("PublicPipeline with the generalizer", () => {
  const golem = "golem-carol-77";
  const wallet = "0x52908400098527886E0F7030069857D2E4169EE7";
  let directory: IdentifierDirectory;
  let s: FakeChat;
  before(async () => {
    directory = new IdentifierDirectory();
    directory.add([
      { kind: "user", value: "privy-carol", userId: "privy-carol" },
      { kind: "golem", value: golem, userId: "privy-carol" },
      { kind: "wallet", value: wallet, userId: "privy-carol" },
    ]);
    s = await fake();
  });
  const pipeline = () => new PublicPipeline({ directory, pause: async () => {}, generalizer: generalizer(s.url, { timeoutMs: 300 }) });
  const writer = { userId: "privy-carol" };
  /** What a lethe copy goes through: the deterministic scrub at write, the generalizer at publication. */
  const published = async (text: string) => {
    const p = pipeline();
    return p.publishable(await p.text(text, writer));
  };

  it("sends only the deterministically scrubbed text, and publishes the model's generalization", async () => {
    s.setAnswer(() => ({ content: "A funding squeeze tends to precede a liquidation cascade." }));
    const out = await published(`${golem} saw wallet ${wallet} squeezed on funding`);
    assert.equal(out, "A funding squeeze tends to precede a liquidation cascade.");
    const sent = lastUserText(s.received.at(-1) ?? { headers: {}, body: { model: "", messages: [] } });
    assert.ok(!sent.toLowerCase().includes(golem) && !sent.toLowerCase().includes(wallet.toLowerCase()), sent);
  });

  it("scrubs the model's answer again: identifiers it adds do not survive", async () => {
    s.setAnswer(() => ({ content: `Golem ${golem} (wallet ${wallet.toLowerCase()}, mail c@carol.example) saw a squeeze.` }));
    const out = await published("a squeeze was seen");
    for (const secret of [golem, wallet.toLowerCase(), "c@carol.example"]) assert.ok(!out.toLowerCase().includes(secret), out);
    assert.match(out, /saw a squeeze/);
  });

  it("keeps the deterministic text when the endpoint errors or hangs", async () => {
    const text = `${golem} saw funding flip`;
    const deterministic = await new PublicPipeline({ directory, pause: async () => {} }).text(text, writer);
    for (const b of [{ status: 503 }, { hang: true }] as ChatBehaviour[]) {
      s.setAnswer(() => b);
      assert.equal(await published(text), deterministic, JSON.stringify(b));
    }
  });
});
