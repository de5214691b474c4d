import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { authorizationTypes } from "@x402/evm";
import { getAddress, type Hex, recoverTypedDataAddress } from "viem";
import { listenOnLoopback, readBody, send } from "./fake-openai-http.js";

/** How the fake answers the next calls of an op: unreachable-like (500 without a verdict), or a verdict against the payment. */
export type FacilitatorFailure = { readonly kind: "unavailable" } | { readonly kind: "refuse"; readonly reason: string };

/** A running fake facilitator. */
export interface FakeFacilitator {
  readonly url: string;
  /** Calls received, by path. */
  readonly calls: { supported: number; verify: number; settle: number };
  /** `/settle` calls per authorization nonce (lower-case): a nonce settled twice shows 2. */
  readonly settleCalls: Map<string, number>;
  /** Nonces settled successfully, in order. */
  readonly settled: string[];
  /** The next `count` calls of `op` fail as `failure`. */
  failNext(op: "verify" | "settle", failure: FacilitatorFailure, count?: number): void;
  /** Every call fails as unavailable while true. */
  down: boolean;
  /** Milliseconds each `/settle` waits before answering (a batch in flight, for crash tests). */
  settleDelayMs: number;
  close(): Promise<void>;
}

/** Options of the fake facilitator. */
export interface FakeFacilitatorOptions {
  /** Bearer token it requires (STYX_X402_FACILITATOR_TOKEN), if any. */
  readonly token?: string;
  /** The v1 name of each CAIP-2 network it supports (default: Base and Base Sepolia). */
  readonly networks?: ReadonlyMap<string, string>;
}

const DEFAULT_NETWORKS = new Map([
  ["eip155:8453", "base"],
  ["eip155:84532", "base-sepolia"],
]);

/**
 * A real HTTP server speaking the x402 facilitator protocol (`GET /supported`, `POST /verify`,
 * `POST /settle` with `{x402Version, paymentPayload, paymentRequirements}`, v1 and v2), for
 * tests: the only fake of the payments, since the facilitator is not ours. It checks what a
 * facilitator checks offline (the EIP-712 signature over the requirements' token domain,
 * recipient, value, validity window; a smart-wallet signature, longer than 65 bytes, is taken on
 * trust), never touches a chain, counts every call, refuses a nonce it settled already
 * (`invalid_exact_evm_nonce_already_used`), and fails on demand.
 */
export async function startFakeFacilitator(opts: FakeFacilitatorOptions = {}): Promise<FakeFacilitator> {
  const networks = opts.networks ?? DEFAULT_NETWORKS;
  const failures = { verify: [] as FacilitatorFailure[], settle: [] as FacilitatorFailure[] };
  const state: FakeFacilitator = {
    url: "",
    calls: { supported: 0, verify: 0, settle: 0 },
    settleCalls: new Map(),
    settled: [],
    failNext(op, failure, count = 1) {
      for (let i = 0; i < count; i++) failures[op].push(failure);
    },
    down: false,
    settleDelayMs: 0,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url?.split("?")[0];
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) return send(res, 401, { error: "unauthorized" });
    if (req.method === "GET" && path === "/supported") {
      state.calls.supported++;
      if (state.down) return send(res, 503, { error: "down" });
      const kinds = [...networks].flatMap(([network, v1]) => [
        { x402Version: 2, scheme: "exact", network },
        { x402Version: 1, scheme: "exact", network: v1 },
      ]);
      return send(res, 200, { kinds, extensions: [], signers: { "eip155:*": ["0x000000000000000000000000000000000000fac1"] } });
    }
    if (req.method !== "POST" || (path !== "/verify" && path !== "/settle")) return send(res, 404, { error: "not found" });
    const op = path === "/verify" ? "verify" : "settle";
    state.calls[op]++;
    let body: { paymentPayload?: Record<string, unknown>; paymentRequirements?: Record<string, unknown> };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, { error: "invalid JSON" });
    }
    const payload = body.paymentPayload ?? {};
    const inner = (payload.payload ?? {}) as { signature?: string; authorization?: Record<string, string> };
    const auth = inner.authorization ?? {};
    const nonce = String(auth.nonce ?? "").toLowerCase();
    const payer = String(auth.from ?? "");
    const requirements = body.paymentRequirements ?? {};
    const network = String(requirements.network ?? "");
    if (op === "settle") {
      state.settleCalls.set(nonce, (state.settleCalls.get(nonce) ?? 0) + 1);
      if (state.settleDelayMs > 0) await new Promise((r) => setTimeout(r, state.settleDelayMs));
    }
    const failure = state.down ? ({ kind: "unavailable" } as const) : failures[op].shift();
    if (failure?.kind === "unavailable") return send(res, 502, "bad gateway");
    const reason = failure?.kind === "refuse" ? failure.reason : await check(requirements, inner, networks);
    if (op === "verify") return send(res, 200, reason ? { isValid: false, invalidReason: reason, payer } : { isValid: true, payer });
    if (!reason && state.settled.includes(nonce))
      return send(res, 400, settleAnswer(false, network, payer, "invalid_exact_evm_nonce_already_used"));
    if (reason) return send(res, 400, settleAnswer(false, network, payer, reason));
    state.settled.push(nonce);
    return send(res, 200, settleAnswer(true, network, payer));
  }

  const { url, close } = await listenOnLoopback(server);
  return Object.assign(state, { url, close });
}

function settleAnswer(success: boolean, network: string, payer: string, errorReason?: string) {
  const transaction = success ? `0x${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString("hex")}` : "";
  return { success, transaction, network, payer, ...(errorReason ? { errorReason } : {}) };
}

/** What a facilitator checks without a chain; undefined when the payment passes. */
async function check(
  req: Record<string, unknown>,
  inner: { signature?: string; authorization?: Record<string, string> },
  networks: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  const a = inner.authorization;
  if (!a || typeof inner.signature !== "string") return "invalid_payload";
  const v1 = [...networks].find(([, name]) => name === req.network);
  const caip = v1 ? v1[0] : String(req.network);
  if (!networks.has(caip)) return "invalid_exact_evm_network_mismatch";
  const extra = (req.extra ?? {}) as { name?: string; version?: string };
  const amount = String(req.amount ?? req.maxAmountRequired);
  if (getAddress(String(a.to)) !== getAddress(String(req.payTo))) return "invalid_exact_evm_recipient_mismatch";
  if (String(a.value) !== amount) return "invalid_exact_evm_payload_authorization_value_mismatch";
  const now = Math.floor(Date.now() / 1000);
  if (Number(a.validBefore) < now + 6) return "invalid_exact_evm_payload_authorization_valid_before";
  if (Number(a.validAfter) > now) return "invalid_exact_evm_payload_authorization_valid_after";
  if (inner.signature.length > 132) return undefined;
  try {
    const signer = await recoverTypedDataAddress({
      domain: {
        name: extra.name,
        version: extra.version,
        chainId: Number(caip.split(":")[1]),
        verifyingContract: getAddress(String(req.asset)),
      },
      types: authorizationTypes,
      primaryType: "TransferWithAuthorization",
      message: {
        from: getAddress(String(a.from)),
        to: getAddress(String(a.to)),
        value: BigInt(String(a.value)),
        validAfter: BigInt(String(a.validAfter)),
        validBefore: BigInt(String(a.validBefore)),
        nonce: String(a.nonce) as Hex,
      },
      signature: inner.signature as Hex,
    });
    return signer === getAddress(String(a.from)) ? undefined : "invalid_exact_evm_signature";
  } catch {
    return "invalid_exact_evm_signature";
  }
}
