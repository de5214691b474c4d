import { type Static, Type } from "typebox";
import { BLOB_CID_PATTERN } from "../core/platform/blob-store.js";

/** A blob address: `b3:` + the 64 lowercase hex of the bytes' BLAKE3-256. */
export const BlobCid = Type.String({ pattern: BLOB_CID_PATTERN, description: "Content address: b3:<BLAKE3-256 hex>" });

/** Path parameter `:cid`. */
export const BlobCidParams = Type.Object({ cid: BlobCid }, { additionalProperties: false });
export type BlobCidParams = Static<typeof BlobCidParams>;

/** `PUT /v1/styx/blobs` answer. */
export const StoredBlob = Type.Object({
  cid: BlobCid,
  size: Type.Integer({ minimum: 0, description: "Bytes stored" }),
});
export type StoredBlob = Static<typeof StoredBlob>;

/** `DELETE /v1/styx/blobs/:cid` answer. */
export const DeletedBlob = Type.Object({
  cid: BlobCid,
  deleted: Type.Literal(true, { description: "Your reference is gone and its bytes are given back to your stored-bytes quota" }),
});
export type DeletedBlob = Static<typeof DeletedBlob>;

/** The raw bytes of a blob (request or response body), for the OpenAPI document. */
export const BlobBytes = {
  content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
} as const;
