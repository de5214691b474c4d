import { type CreditMeter, FEDERATION_RECORD_PRICE } from "../../core/payments/credit.js";
import type { Connection } from "./connection.js";
import type { SharedFrame } from "./shared-frame.js";

/** What the toll uses of the socket's connection. */
type Toll = Pick<Connection, "open" | "send" | "sendShared" | "hold" | "unhold" | "sendError" | "close">;

/** A frame waiting for credit: its bytes (held against the socket's bound) and how it is sent. */
interface Waiting {
  readonly bytes: number;
  readonly send: () => void;
}

/**
 * The price of the federation records one downstream's socket is sent, with pricing on (SPEC
 * §17.3): FEDERATION_RECORD_PRICE (1 atomic unit) each from its federation user's relay credit
 * (§11.4), taken from this gateway's purse (CreditMeter) as the record is sent. A record the
 * purse cannot pay waits, with every record after it (in order, its bytes held against the
 * socket's bound), while a block is drawn from the user's balance; when the balance has nothing
 * more, the records waiting are not sent and the socket gets a STYX_CREDIT_EXHAUSTED error frame
 * and is closed with its code (4402): the link's down-flow pauses. Nothing is lost: the stream
 * keeps the records, and the downstream, which reconnects with backoff, resumes from its stored
 * cursor — paid again once its user topped up (if the stream's history dropped them meanwhile,
 * the resume answers `recovered: false` and the downstream takes the snapshot).
 * A federate key's socket follows only federation streams, so closing it stops nothing else.
 */
export class RecordToll {
  readonly #meter: Pick<CreditMeter, "take" | "refill">;
  readonly #userId: string;
  readonly #conn: Toll;
  readonly #onError: (err: unknown) => void;
  readonly #waiting: Waiting[] = [];
  #drawing: Promise<void> | undefined;

  /** `onError`: a draw that failed (the store): the socket is closed as unavailable, the downstream resumes later. */
  constructor(deps: {
    meter: Pick<CreditMeter, "take" | "refill">;
    userId: string;
    conn: Toll;
    onError: (err: unknown) => void;
  }) {
    this.#meter = deps.meter;
    this.#userId = deps.userId;
    this.#conn = deps.conn;
    this.#onError = deps.onError;
  }

  /** Sends one record's frame once paid (Connection.send's place for a paying federation stream). */
  send(data: Buffer): boolean {
    return this.#pay(data.length, () => this.#conn.send(data));
  }

  /** Sends one record's shared frame once paid (Connection.sendShared's place). */
  sendShared(frame: SharedFrame): boolean {
    return this.#pay(frame.data.length, () => this.#conn.sendShared(frame));
  }

  /** Sends at once when the purse pays and nothing waits, else in turn after a draw; false once the socket closed. */
  #pay(bytes: number, send: () => void): boolean {
    if (this.#waiting.length === 0 && this.#meter.take(this.#userId, FEDERATION_RECORD_PRICE)) {
      send();
      return true;
    }
    if (!this.#conn.hold(bytes)) return false;
    this.#waiting.push({ bytes, send });
    this.#drawing ??= this.#draw();
    return true;
  }

  /** Whether records wait for credit (a draw is under way). */
  get waiting(): boolean {
    return this.#drawing !== undefined;
  }

  /** Resolves when no record waits for credit: true while the socket is open (a replay reads on only then). */
  async settled(): Promise<boolean> {
    while (this.#drawing) await this.#drawing;
    return this.#conn.open;
  }

  async #draw(): Promise<void> {
    try {
      while (this.#waiting.length > 0 && this.#conn.open) {
        if (!(await this.#meter.refill(this.#userId, FEDERATION_RECORD_PRICE))) {
          const message = "No relay credit left for federation records: top up the federation user's credit.";
          this.#conn.sendError("STYX_CREDIT_EXHAUSTED", message, undefined, { balance_usd: "0" });
          this.#conn.close("STYX_CREDIT_EXHAUSTED");
          break;
        }
        while (this.#waiting.length > 0 && this.#conn.open && this.#meter.take(this.#userId, FEDERATION_RECORD_PRICE)) {
          const w = this.#waiting.shift() as Waiting;
          this.#conn.unhold(w.bytes);
          w.send();
        }
      }
    } catch (err) {
      this.#onError(err);
      this.#conn.close("STYX_DEPENDENCY_UNAVAILABLE", "relay credit could not be read");
    } finally {
      for (const w of this.#waiting.splice(0)) this.#conn.unhold(w.bytes);
      this.#drawing = undefined;
    }
  }
}
