import { randomBytes } from "./crypto.js";

/** The identity of one Styx (SPEC §3): `sx_` + 16 lowercase hex characters. Public, not a secret. */
export const INSTANCE_ID_PATTERN = /^sx_[0-9a-f]{16}$/;

/** A new random instance id (`sx_` + 8 random bytes in hex). */
export function newInstanceId(): string {
  return `sx_${Buffer.from(randomBytes(8)).toString("hex")}`;
}
