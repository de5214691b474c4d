import {
  type AuditInput,
  type AuditLog,
  type AuditRecord,
  type AuditVerification,
  chainRecord,
  GENESIS_HASH,
  verifyChain,
} from "../../core/platform/audit.js";
import type { Clock } from "../../core/platform/clock.js";

/** AuditLog kept in process memory (amnesia). The chain is real; it ends with the process. */
export class MemoryAuditLog implements AuditLog {
  readonly #records: AuditRecord[] = [];
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    const last = this.#records.at(-1);
    const record = chainRecord(last ?? { seq: 0, hash: GENESIS_HASH }, this.#clock.now(), input);
    this.#records.push(record);
    return record;
  }

  async latest(action: string): Promise<AuditRecord | undefined> {
    return this.#records.findLast((r) => r.action === action);
  }

  async list(after: number, limit: number): Promise<AuditRecord[]> {
    return this.#records.filter((r) => r.seq > after).slice(0, limit);
  }

  async verify(): Promise<AuditVerification> {
    const last = this.#records.at(-1);
    return verifyChain(this.#records, last ? { seq: last.seq, hash: last.hash } : undefined);
  }
}
