import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { BlobService } from "../../../core/knowledge/blob-service.js";
import { type BlobRead, type BlobStore, type ByteRange, blobNotFound, blobTooLarge } from "../../../core/platform/blob-store.js";
import { StyxError } from "../../../core/platform/errors.js";
import type { QuotaService } from "../../../core/quota/quota-service.js";
import { BlobBytes, BlobCidParams, DeletedBlob, StoredBlob } from "../../../protocol/blobs.js";
import { ErrorBody } from "../../../protocol/common.js";
import { userPrincipal } from "../../context.js";
import { parseRange } from "./range.js";

/** Dependencies of the blob routes. */
export interface BlobRoutesDeps {
  readonly blobs: BlobStore;
  /** Largest blob a PUT may store (`STYX_BLOB_MAX_BYTES`). */
  readonly maxBytes: number;
  /** The user's stored-bytes quota a PUT must stay within. */
  readonly quotas: Pick<QuotaService, "putBlob">;
  /** The owner's delete (409 while an entry names the blob). */
  readonly service: Pick<BlobService, "delete">;
}

const OCTETS = "application/octet-stream";

/**
 * `PUT /v1/styx/blobs` (raw bytes in, `{cid, size}` out), `GET /v1/styx/blobs/:cid`
 * (verified bytes out, with single byte ranges) and `DELETE /v1/styx/blobs/:cid` (the owner's,
 * refused while an entry names the blob). Registered in their own encapsulated scope,
 * whose only body parser hands the request stream through unread, so the octet-stream parser
 * and the blob size limit never reach the JSON routes.
 */
export function blobRoutes(app: FastifyInstance, deps: BlobRoutesDeps): void {
  const { blobs, maxBytes, quotas, service } = deps;
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(OCTETS, (_req, payload, done) => done(null, payload));

    scope.put(
      "/v1/styx/blobs",
      {
        bodyLimit: maxBytes,
        config: { golemCredential: "own" },
        schema: {
          tags: ["blobs"],
          summary: "Store a blob (raw bytes, application/octet-stream); answers its content address",
          description: `Streamed in 64 KiB chunks and hashed while written; over the size limit (STYX_BLOB_MAX_BYTES) → 413 and nothing is kept; past the user's stored bytes → 429 STYX_QUOTA_EXCEEDED (quota stored_bytes) and nothing is kept. Storing the same bytes again is harmless and answers the same cid.`,
          body: { content: { [OCTETS]: { schema: { format: "binary", description: "The blob's bytes" } } } },
          response: { 201: StoredBlob, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody },
        },
      },
      async (req, reply) => {
        const user = userPrincipal(req).userId;
        const encoded = req.headers["content-encoding"] !== undefined && req.headers["content-encoding"] !== "identity";
        if (!encoded && Number(req.headers["content-length"]) > maxBytes) {
          reply.header("connection", "close");
          throw blobTooLarge(maxBytes);
        }
        const payload = req.body as Readable | undefined;
        if (!payload) throw new StyxError("STYX_UNSUPPORTED_MEDIA_TYPE", `Send the blob's bytes as content-type: ${OCTETS}.`);
        // Not `for await` over the request itself: giving up early must not destroy the socket
        // before the 413 is written.
        const source = { [Symbol.asyncIterator]: () => payload.iterator({ destroyOnReturn: false }) };
        try {
          const stored = await quotas.putBlob(user, source, maxBytes, blobs);
          return reply.code(201).send({ cid: stored.cid, size: stored.size });
        } catch (err) {
          if (!payload.readableEnded) discardRest(reply, payload);
          throw err;
        }
      },
    );

    scope.get<{ Params: BlobCidParams }>(
      "/v1/styx/blobs/:cid",
      {
        config: { golemCredential: "own" },
        schema: {
          tags: ["blobs"],
          summary: "Read one of the caller's blobs (Range: bytes=a-b | a- | -n)",
          description:
            "The whole blob is checked against its cid before any byte is sent; a damaged blob answers 500 STYX_BLOB_CORRUPT and is never served. A blob the caller never stored answers 404, whoever else stored it.",
          params: BlobCidParams,
          response: {
            200: { description: "The whole blob", ...BlobBytes },
            206: { description: "The requested byte range (Content-Range)", ...BlobBytes },
            400: ErrorBody,
            401: ErrorBody,
            403: ErrorBody,
            404: ErrorBody,
            416: ErrorBody,
            500: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const user = userPrincipal(req).userId;
        const { cid } = req.params;
        const found = await blobs.stat(user, cid);
        if (!found) throw blobNotFound();
        const range = parseRange(req.headers.range, found.size);
        if (range === "unsatisfiable") {
          reply.header("content-range", `bytes */${found.size}`);
          throw new StyxError(
            "STYX_RANGE_NOT_SATISFIABLE",
            `The range '${req.headers.range}' lies outside the blob's ${found.size} bytes.`,
            {
              details: { size: found.size },
            },
          );
        }
        const served = range ?? { start: 0, end: found.size - 1 };
        // HEAD sends no bytes, so there is nothing to verify.
        if (req.method === "HEAD") return describe(reply, cid, found.size, range, served).send(Readable.from([]));
        let blob: BlobRead;
        try {
          blob = await blobs.read(user, cid, range);
        } catch (err) {
          if (err instanceof StyxError && err.code === "STYX_BLOB_CORRUPT")
            req.log.error({ cid }, "blob failed its integrity check; not served");
          throw err;
        }
        describe(reply, cid, blob.size, range, blob.range);
        return reply.send(blob.body instanceof Readable ? blob.body : Readable.from(blob.body, { objectMode: false }));
      },
    );

    scope.delete<{ Params: BlobCidParams }>(
      "/v1/styx/blobs/:cid",
      {
        // Blobs are the user's, shared by all their golems: one golem must not take a sibling's.
        config: { golemCredential: "owner-only" },
        schema: {
          tags: ["blobs"],
          summary: "Delete one of your blobs (owner credential); refused while an entry of yours names it",
          description:
            "409 STYX_CONFLICT (details.references: how many of your entries name it as content_blob) while any does: delete those entries first. A blob you never stored answers 404, whoever else stored it. Its bytes are given back to your stored-bytes quota at once; the stored bytes go once no user holds the cid. A blob whose last entry was deleted or expired goes by itself after STYX_BLOB_GRACE; one no entry ever named stays until you delete it.",
          params: BlobCidParams,
          response: { 200: DeletedBlob, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody },
        },
      },
      async (req) => service.delete(userPrincipal(req), req.params.cid, { requestId: req.id, ip: req.ip }),
    );
  });
}

/** Status and headers of a blob answer (set only once the bytes are known to be good). */
function describe(reply: FastifyReply, cid: string, size: number, asked: ByteRange | undefined, served: ByteRange): FastifyReply {
  if (asked) reply.code(206).header("content-range", `bytes ${served.start}-${served.end}/${size}`);
  return reply
    .header("etag", `"${cid}"`)
    .header("accept-ranges", "bytes")
    .header("cache-control", "private, max-age=31536000, immutable")
    .header("x-content-type-options", "nosniff")
    .header("content-length", String(served.end - served.start + 1))
    .type(OCTETS);
}

/** After a refused upload: read and drop what the client still sends, and close the connection after the answer. */
function discardRest(reply: FastifyReply, payload: Readable): void {
  reply.header("connection", "close");
  payload.on("error", () => {});
  payload.resume();
}
