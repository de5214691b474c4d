import { pipeline, Transform, type TransformCallback } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { StyxError } from "../../core/platform/errors.js";

/** Largest inflated/compressed size ratio accepted. */
export const MAX_EXPANSION_RATIO = 10;

const DECODERS = { gzip: createGunzip, "x-gzip": createGunzip, deflate: createInflate, br: createBrotliDecompress } as const;

/**
 * Accepts `Content-Encoding: gzip | deflate | br` request bodies, inflating as a stream and
 * stopping the moment the output passes `maxBytes` (the absolute cap, = the body limit) or
 * 10× the compressed input, so a bomb is refused without being inflated. Other encodings → 415.
 */
export function registerDecompression(app: FastifyInstance, maxBytes: number): void {
  app.addHook("preParsing", async (req, _reply, payload) => {
    const encoding = String(req.headers["content-encoding"] ?? "identity")
      .trim()
      .toLowerCase();
    if (encoding === "identity" || encoding === "") return payload;
    const make = DECODERS[encoding as keyof typeof DECODERS];
    if (!make) throw new StyxError("STYX_UNSUPPORTED_ENCODING", `Content-Encoding '${encoding}' is not supported (gzip, deflate, br).`);
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    // The route's own limit when it sets one (the blob PUT allows STYX_BLOB_MAX_BYTES).
    const guard = new InflateGuard(req.routeOptions.bodyLimit ?? maxBytes, Number.isFinite(declared) ? declared : undefined);
    payload.on("data", (chunk: Buffer) => {
      guard.compressedBytes += chunk.length;
    });
    const decoder = make();
    // A stream that does not decode is the client's fault (400), on the blob route too, which reads
    // the stream itself: registered before pipeline's own listener, so the guard fails with this error.
    decoder.once("error", (err) =>
      guard.destroy(new StyxError("STYX_BAD_REQUEST", `The ${encoding} body does not decode: ${err.message}.`)),
    );
    pipeline(payload, decoder, guard, () => {});
    return guard;
  });
}

/** Counts inflated bytes and fails the stream when a limit is crossed. */
class InflateGuard extends Transform {
  compressedBytes = 0;
  #out = 0;
  readonly #max: number;
  readonly #declared: number | undefined;

  constructor(max: number, declared: number | undefined) {
    super();
    this.#max = max;
    this.#declared = declared;
  }

  /** Fastify compares this with Content-Length, which counts compressed bytes. */
  get receivedEncodedLength(): number {
    return this.compressedBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#out += chunk.length;
    const ratioBase = Math.max(this.#declared ?? 0, this.compressedBytes);
    if (this.#out > this.#max) done(limit(`inflates past the ${this.#max}-byte cap`));
    else if (this.#declared !== undefined && this.#out > MAX_EXPANSION_RATIO * ratioBase)
      done(limit(`expands more than ${MAX_EXPANSION_RATIO}×`));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#out > MAX_EXPANSION_RATIO * Math.max(1, this.compressedBytes)) done(limit(`expands more than ${MAX_EXPANSION_RATIO}×`));
    else done();
  }
}

function limit(what: string): StyxError {
  return new StyxError("STYX_DECOMPRESSION_LIMIT", `The compressed body ${what}.`);
}
