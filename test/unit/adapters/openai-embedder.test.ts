import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { embeddingsEndpoint, OpenAiEmbedder, type OpenAiEmbedderOptions } from "../../../src/adapters/http/openai-embedder.js";
import { normalize } from "../../../src/core/knowledge/embedder.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import {
  type FakeEmbedder,
  type FakeEmbedderOptions,
  fakeEmbedding,
  startFakeEmbedder,
} from "../../../src/testing/fake-embedder-server.js";

const FAILED = "STYX_EMBEDDER_FAILED";
const KEY = "sk-test-0123456789-very-secret";
const DIM = 32;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));
const failedWith = (pattern?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof StyxError, `expected a StyxError, got ${String(err)}`);
  assert.equal(err.code, FAILED);
  if (pattern) assert.match(err.message, pattern);
  return true;
};

/** Everything an error could leak through: message, string form, JSON, and the cause chain. */
function everythingSaidBy(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(String(e), (e as Error).stack ?? "", JSON.stringify(e) ?? "", JSON.stringify((e as StyxError).details) ?? "");
  }
  return parts.join("\n");
}

const servers: FakeEmbedder[] = [];
async function fake(opts: Partial<FakeEmbedderOptions> = {}): Promise<FakeEmbedder> {
  const s = await startFakeEmbedder({ dimensions: DIM, ...opts });
  servers.push(s);
  return s;
}
const embedder = (url: string, opts: Partial<OpenAiEmbedderOptions> = {}) =>
  new OpenAiEmbedder({ url, model: "fake-model", dimensions: DIM, ...opts });

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("embeddingsEndpoint", () => {
  it("accepts a bare origin, a /v1 base or the full endpoint", () => {
    for (const base of ["http://h:8080", "http://h:8080/", "http://h:8080/v1", "http://h:8080/v1/", "http://h:8080/v1/embeddings"]) {
      assert.equal(embeddingsEndpoint(base), "http://h:8080/v1/embeddings", base);
    }
  });

  it("keeps path prefixes and query strings", () => {
    assert.equal(embeddingsEndpoint("https://gw.example/openai"), "https://gw.example/openai/v1/embeddings");
    assert.equal(embeddingsEndpoint("https://gw.example/openai/v1"), "https://gw.example/openai/v1/embeddings");
    assert.equal(embeddingsEndpoint("https://gw.example/api/v2/?x=1"), "https://gw.example/api/v2/embeddings?x=1");
  });

  it("refuses other schemes, credentials in the URL and non-URLs", () => {
    assert.throws(() => embeddingsEndpoint("ftp://h/v1"), /http or https/);
    assert.throws(() => embeddingsEndpoint("https://user:pw@h/v1"), /credentials/);
    assert.throws(() => embeddingsEndpoint("not a url"), /not a valid URL/);
  });
});

describe("normalize", () => {
  it("answers a unit vector in a new array", () => {
    const v = [3, 4];
    assert.deepEqual([...normalize(v)], [Math.fround(0.6), Math.fround(0.8)]);
    assert.deepEqual(v, [3, 4]);
    assert.ok(Math.abs(norm(normalize([1e200, 1e200])) - 1) < 1e-6);
    assert.ok(Math.abs(norm(normalize([5e-324, 0])) - 1) < 1e-6);
  });

  it("refuses empty, zero and non-finite vectors", () => {
    for (const v of [[], [0, 0], new Float32Array(4), [1, Number.NaN], [Number.POSITIVE_INFINITY, 1]]) {
      assert.throws(
        () => normalize(v),
        (e: unknown) => e instanceof StyxError && e.code === "STYX_VALIDATION",
      );
    }
  });
});

describe("OpenAiEmbedder against the fake server", () => {
  let server: FakeEmbedder;
  before(async () => {
    // Answers arrive in reverse order, with correct indexes: the embedder must sort by index.
    server = await fake({ mangle: (a) => ({ ...a, data: [...a.data].reverse() }) });
  });

  it("preserves input order across several batches", async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `text number ${i} about topic ${i * 7}`);
    const before = server.requests();
    const vectors = await embedder(`${server.url}/v1`, { maxBatch: 3 }).embed(texts);
    assert.equal(server.requests() - before, 4);
    assert.equal(vectors.length, texts.length);
    vectors.forEach((v, i) => {
      const expected = normalize(fakeEmbedding(texts[i] as string, DIM));
      assert.ok(v && dot(v, expected) > 0.9999, `vector ${i} is out of place`);
    });
  });

  it("answers normalised vectors of the configured dimension", async () => {
    const vectors = await embedder(server.url).embed(["alpha beta", "GAMMA delta epsilon", "!!!"]);
    for (const v of vectors) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, DIM);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5);
    }
  });

  it("puts texts that share words closer than unrelated ones", async () => {
    const [cat, cat2, physics] = await embedder(server.url, { dimensions: 256, sendDimensions: true }).embed([
      "the cat sat on the warm mat",
      "a cat sat on a mat",
      "quantum chromodynamics lecture notes",
    ]);
    assert.ok(cat && cat2 && physics);
    assert.ok(dot(cat, cat2) > 0.5, `similar: ${dot(cat, cat2)}`);
    assert.ok(dot(cat, cat2) > dot(cat, physics) + 0.3, `unrelated: ${dot(cat, physics)}`);
  });

  it("sends nothing for no texts and refuses empty texts", async () => {
    const before = server.requests();
    assert.deepEqual(await embedder(server.url).embed([]), []);
    await assert.rejects(embedder(server.url).embed(["ok", ""]), (e: unknown) => e instanceof StyxError && e.code === "STYX_VALIDATION");
    assert.equal(server.requests(), before);
  });
});

describe("OpenAiEmbedder dimensions", () => {
  it("asks text-embedding-3 models for the configured dimension by default", async () => {
    const server = await fake({ dimensions: 1536 });
    const [v] = await new OpenAiEmbedder({ url: server.url, dimensions: DIM }).embed(["shortened vector"]);
    assert.equal(v?.length, DIM);
  });

  it("refuses vectors of the wrong dimension", async () => {
    const server = await fake({ dimensions: 48 });
    await assert.rejects(embedder(server.url).embed(["hello"]), failedWith(/48-dimensional.*32 are configured/));
  });

  it("answers null for a text the endpoint gives no direction (a zero or non-finite vector), the others as usual", async () => {
    const server = await fake({
      mangle: (a) => ({ ...a, data: a.data.map((d) => (d.index === 0 ? { ...d, embedding: new Array(DIM).fill(0) } : d)) }),
    });
    const [zero, fine] = await embedder(server.url).embed(["one", "two"]);
    assert.equal(zero, null);
    assert.ok(fine instanceof Float32Array && Math.abs(norm(fine) - 1) < 1e-6);
    // A string is sent as it is: the first component of the first vector becomes 1e999, which JSON.parse reads as Infinity.
    const overflow = await fake({ mangle: (a) => JSON.stringify(a).replace(/"embedding":\[[^,\]]+/, '"embedding":[1e999') });
    assert.deepEqual(await embedder(overflow.url).embed(["only"]), [null]);
    assert.equal(overflow.requests(), 1, "not retried");
  });

  it("refuses malformed answers", async () => {
    const cases: [string, (a: { data: unknown[] }) => unknown][] = [
      ["no data", () => ({ object: "list" })],
      ["too few", (a) => ({ ...a, data: a.data.slice(1) })],
      ["repeated index", (a) => ({ ...a, data: a.data.map((d) => ({ ...(d as object), index: 0 })) })],
      ["strings", (a) => ({ ...a, data: a.data.map((_, index) => ({ index, embedding: "AAAA" })) })],
      ["non-numbers", (a) => ({ ...a, data: a.data.map((_, index) => ({ index, embedding: new Array(DIM).fill("1") })) })],
      ["not an object", () => [1, 2]],
    ];
    for (const [name, mangle] of cases) {
      const server = await fake({ mangle });
      await assert.rejects(embedder(server.url).embed(["one", "two"]), failedWith(), name);
      assert.equal(server.requests(), 1, `${name} is not retried`);
    }
  });
});

describe("OpenAiEmbedder retries and failures", () => {
  it("retries a single 500 once", async () => {
    const server = await fake();
    server.failNext(1);
    const vectors = await embedder(server.url).embed(["retry me"]);
    assert.equal(vectors.length, 1);
    assert.equal(server.requests(), 2);
  });

  it("retries a 429 and a dropped connection once", async () => {
    const server = await fake();
    server.failNext(1, 429);
    await embedder(server.url).embed(["rate limited"]);
    server.failNext(1, 0);
    await embedder(server.url).embed(["connection reset"]);
    assert.equal(server.requests(), 4);
  });

  it("fails after a 500 on the retry too, without a third attempt", async () => {
    const server = await fake();
    server.failNext(5);
    await assert.rejects(embedder(server.url).embed(["doomed"]), failedWith(/HTTP 500 \(server_error\)/));
    assert.equal(server.requests(), 2);
  });

  it("does not retry a 4xx", async () => {
    const server = await fake({ apiKey: KEY });
    await assert.rejects(embedder(server.url).embed(["no key"]), failedWith(/HTTP 401 \(invalid_api_key\)/));
    assert.equal(server.requests(), 1);
  });

  it("fails on an unreachable server", async () => {
    const server = await startFakeEmbedder({ dimensions: DIM });
    await server.close();
    await assert.rejects(embedder(server.url, { apiKey: KEY }).embed(["anyone?"]), (err: unknown) => {
      failedWith(/unreachable/)(err);
      assert.ok(!everythingSaidBy(err).includes(KEY));
      return true;
    });
  });

  it("gives up after timeoutMs and does not retry a timeout", async () => {
    const server = await fake({ delayMs: 5_000 });
    const started = Date.now();
    await assert.rejects(embedder(server.url, { timeoutMs: 150 }).embed(["slow"]), failedWith(/within 150 ms/));
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    assert.equal(server.requests(), 1);
  });
});

describe("OpenAiEmbedder API key", () => {
  it("sends the key as a Bearer token", async () => {
    const server = await fake({ apiKey: KEY });
    const [v] = await embedder(server.url, { apiKey: KEY }).embed(["authorised"]);
    assert.equal(v?.length, DIM);
  });

  it("never puts the key in an error, even when the upstream quotes it", async () => {
    const server = await fake({ apiKey: "sk-the-right-one" });
    await assert.rejects(embedder(server.url, { apiKey: KEY }).embed(["wrong key"]), (err: unknown) => {
      failedWith(/HTTP 401/)(err);
      assert.ok(!everythingSaidBy(err).includes(KEY), everythingSaidBy(err));
      return true;
    });
    const failing = await fake();
    failing.failNext(2);
    await assert.rejects(embedder(failing.url, { apiKey: KEY }).embed(["boom"]), (err: unknown) => {
      assert.ok(!everythingSaidBy(err).includes(KEY));
      return true;
    });
  });
});
