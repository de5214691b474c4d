import { StyxError } from "../platform/errors.js";

/**
 * A paid request's payment as Styx reads it (SPEC §11.2): the x402 v2 `PAYMENT-SIGNATURE`
 * payload or v1's `X-PAYMENT`, both base64 JSON, checked field by field here. Unknown fields
 * are refused as in every body; `accepted.extra` and `resource`/`extensions` are free-form
 * (x402 lets clients echo and extend them). Pure: decoding the base64 is the server's.
 */

/** The EIP-3009 authorization a payment carries; addresses and nonce lower-cased, amounts as bigint. */
export interface TransferAuthorization {
  readonly from: string;
  readonly to: string;
  readonly value: bigint;
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly nonce: string;
}

/** A decoded payment: its version, what it says it accepted (v2) or its scheme and network (v1), the signed authorization. */
export interface PaymentAttempt {
  readonly version: 1 | 2;
  readonly scheme: string;
  /** v2: `accepted.network`; v1: the v1 network name (`base`). */
  readonly network: string;
  /** v2 only: the offer the client says it accepted, as sent. */
  readonly accepted: Readonly<Record<string, unknown>> | undefined;
  readonly authorization: TransferAuthorization;
  /** 0x hex as sent (65 bytes for an ordinary wallet, longer for ERC-1271/6492 smart wallets). */
  readonly signature: string;
  /** The payload as sent, for the facilitator. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const NONCE = /^0x[0-9a-fA-F]{64}$/;
const UINT = /^\d{1,78}$/;
// 65 bytes and up (ERC-6492 wraps a deployment in the signature); the header's 8 KiB bounds it.
const SIGNATURE = /^0x(?:[0-9a-fA-F]{2}){65,}$/;

const V2_FIELDS = new Set(["x402Version", "accepted", "payload", "resource", "extensions"]);
const V1_FIELDS = new Set(["x402Version", "scheme", "network", "payload"]);
const PAYLOAD_FIELDS = new Set(["signature", "authorization"]);
const AUTH_FIELDS = ["from", "to", "value", "validAfter", "validBefore", "nonce"] as const;

/** 400 STYX_PAYMENT_MALFORMED naming the field. */
export function malformed(path: string, message: string): StyxError {
  return new StyxError("STYX_PAYMENT_MALFORMED", `The payment header is malformed: ${path} ${message}.`, {
    details: [{ path, message }],
  });
}

/** Reads a decoded payment header of `version` (2: PAYMENT-SIGNATURE, 1: X-PAYMENT); throws STYX_PAYMENT_MALFORMED. */
export function readPayment(version: 1 | 2, value: unknown): PaymentAttempt {
  const top = object(value, "/");
  only(top, version === 2 ? V2_FIELDS : V1_FIELDS, "");
  if (top.x402Version !== version) throw malformed("/x402Version", `must be ${version} for this header`);
  const payload = object(top.payload, "/payload");
  only(payload, PAYLOAD_FIELDS, "/payload");
  const signature = text(payload.signature, "/payload/signature");
  if (!SIGNATURE.test(signature)) throw malformed("/payload/signature", "must be 0x hex of 65 bytes or more");
  const auth = object(payload.authorization, "/payload/authorization");
  only(auth, new Set(AUTH_FIELDS), "/payload/authorization");
  const at = (k: (typeof AUTH_FIELDS)[number]) => text(auth[k], `/payload/authorization/${k}`);
  for (const k of ["from", "to"] as const) if (!ADDRESS.test(at(k))) throw malformed(`/payload/authorization/${k}`, "must be a 0x address");
  for (const k of ["value", "validAfter", "validBefore"] as const)
    if (!UINT.test(at(k))) throw malformed(`/payload/authorization/${k}`, "must be a decimal integer string");
  if (!NONCE.test(at("nonce"))) throw malformed("/payload/authorization/nonce", "must be 0x and 32 bytes of hex");
  const authorization: TransferAuthorization = {
    from: at("from").toLowerCase(),
    to: at("to").toLowerCase(),
    value: BigInt(at("value")),
    validAfter: BigInt(at("validAfter")),
    validBefore: BigInt(at("validBefore")),
    nonce: at("nonce").toLowerCase(),
  };
  if (version === 1) {
    return {
      version,
      scheme: text(top.scheme, "/scheme"),
      network: text(top.network, "/network"),
      accepted: undefined,
      authorization,
      signature,
      raw: top,
    };
  }
  const accepted = object(top.accepted, "/accepted");
  if (top.resource !== undefined) object(top.resource, "/resource");
  if (top.extensions !== undefined) object(top.extensions, "/extensions");
  return {
    version,
    scheme: text(accepted.scheme, "/accepted/scheme"),
    network: text(accepted.network, "/accepted/network"),
    accepted,
    authorization,
    signature,
    raw: top,
  };
}

function object(v: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw malformed(path, "must be an object");
  return v as Record<string, unknown>;
}

function text(v: unknown, path: string): string {
  if (typeof v !== "string") throw malformed(path, "must be a string");
  return v;
}

function only(o: Readonly<Record<string, unknown>>, allowed: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw malformed(`${path}/${k}`, "is not a known field");
}
