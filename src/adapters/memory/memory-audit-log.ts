import {
  type AuditInput,
  type AuditLog,
  type AuditRecord,
  type AuditVerification,
  type ChainHead,
  chainRecord,
  GENESIS_HASH,
  sealInput,
  verifyChain,
} from "../../core/platform/audit.js";
import type { Clock } from "../../core/platform/clock.js";
import type { SecretKey } from "../../core/platform/secret-key.js";

/** AuditLog kept in process memory (amnesia). The chain is real and keyed; it ends with the process. */
export class MemoryAuditLog implements AuditLog {
  readonly #records: AuditRecord[] = [];
  readonly #clock: Clock;
  readonly #key: SecretKey;

  constructor(clock: Clock, key: SecretKey) {
    this.#clock = clock;
    this.#key = key;
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    return this.#put(input);
  }

  async seal(): Promise<AuditRecord | undefined> {
    const input = sealInput(this.#head());
    return input && this.#put(input);
  }

  async latest(action: string): Promise<AuditRecord | undefined> {
    return this.#records.findLast((r) => r.action === action);
  }

  async list(after: number, limit: number): Promise<AuditRecord[]> {
    return this.#records.filter((r) => r.seq > after).slice(0, limit);
  }

  async verify(kept?: ChainHead): Promise<AuditVerification> {
    const last = this.#records.at(-1);
    return verifyChain(this.#key, this.#records, last ? { seq: last.seq, hash: last.hash } : undefined, kept);
  }

  #head(): ChainHead {
    return this.#records.at(-1) ?? { seq: 0, hash: GENESIS_HASH };
  }

  #put(input: AuditInput): AuditRecord {
    const record = chainRecord(this.#key, this.#head(), this.#clock.now(), input);
    this.#records.push(record);
    return record;
  }
}
