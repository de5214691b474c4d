import type { StreamPosition } from "../core/fabric/history.js";
import type { ApplyOutcome, FederationRecord, RecordApplier } from "../core/federation/records.js";
import type {
  HelloReply,
  HelloRequest,
  PushReply,
  RecordChannel,
  RecordHandlers,
  ResumeOutcome,
  SnapshotLine,
  UpstreamError,
  UpstreamTransport,
} from "../core/federation/upstream-transport.js";

/**
 * A test double of the UpstreamTransport port (unit tests of the federation link only; the
 * integration tests link two real processes): scripted hello and push answers, snapshots by
 * domain, and a record socket the test drives (records, resume answers, a drop).
 */
export class FakeUpstream implements UpstreamTransport {
  /** Every hello sent. */
  readonly hellos: HelloRequest[] = [];
  /** Every push, its records. */
  readonly pushes: FederationRecord[][] = [];
  /** Every resume the link asked for, in order. */
  readonly resumes: Map<string, StreamPosition>[] = [];
  /** Domains whose snapshot was read, in order. */
  readonly snapshots: string[] = [];
  /** The hello answer (or throw the error it fails with). */
  answerHello: (req: HelloRequest) => HelloReply | Promise<HelloReply> = () => this.reply();
  /** The push answer (default: all accepted), or throw an UpstreamError. */
  pushed: (records: readonly FederationRecord[], signal?: AbortSignal) => PushReply | Promise<PushReply> = (r) => ({
    accepted: r.length,
    duplicates: 0,
    rejected: [],
  });
  /** Snapshot lines by domain (default: empty, at `{epoch: "e1", seq: 0}`). */
  readonly snapshotLines = new Map<string, SnapshotLine[]>();
  /** Whether the socket may open (else `open` throws this error). */
  openError: UpstreamError | undefined;
  #handlers: RecordHandlers | undefined;
  #open = false;
  readonly instanceId: string;

  constructor(instanceId = "sx_00000000000000aa") {
    this.instanceId = instanceId;
  }

  /** A hello answer agreeing to `domains` (default defi), positions empty. */
  reply(domains: string[] = ["defi"]): HelloReply {
    return { instanceId: this.instanceId, version: "test", flows: [], domains, embedDim: 8, positions: new Map() };
  }

  /** Whether a record socket is open now. */
  get connected(): boolean {
    return this.#open;
  }

  async hello(req: HelloRequest): Promise<HelloReply> {
    this.hellos.push(req);
    return this.answerHello(req);
  }

  async push(records: readonly FederationRecord[], signal?: AbortSignal): Promise<PushReply> {
    this.pushes.push([...records]);
    return this.pushed(records, signal);
  }

  async *snapshot(domain: string): AsyncIterable<SnapshotLine> {
    this.snapshots.push(domain);
    for (const line of this.snapshotLines.get(domain) ?? [{ type: "position", position: { epoch: "e1", seq: 0 } }]) {
      await Promise.resolve();
      yield line;
    }
  }

  async open(handlers: RecordHandlers): Promise<RecordChannel> {
    if (this.openError) throw this.openError;
    this.#handlers = handlers;
    this.#open = true;
    return {
      resume: (positions) => this.resumes.push(new Map(positions)),
      close: () => this.drop(undefined),
    };
  }

  /** The upstream sends a record of `stream` at `seq` (epoch e1 unless given). */
  emit(stream: string, seq: number, record: FederationRecord, epoch = "e1"): void {
    this.#handlers?.record(stream, { epoch, seq }, record);
  }

  /** The upstream answers a resume of `stream`. */
  answer(stream: string, outcome: ResumeOutcome): void {
    this.#handlers?.resumed(stream, outcome);
  }

  /**
   * The socket closes (`err`: why; undefined: the link closed it). The handlers stay reachable
   * through `emit` and `answer`, as frames of a closed socket may still be in flight.
   */
  drop(err: UpstreamError | undefined): void {
    if (!this.#open) return;
    this.#open = false;
    if (err) this.#handlers?.closed(err);
  }
}

/** A RecordApplier over a set of applied (origin, id): accepted once, then duplicate; `refuse` ids are rejected. */
export class SetApplier implements RecordApplier {
  readonly applied: FederationRecord[] = [];
  readonly #seen = new Set<string>();
  readonly refuse = new Set<string>();

  async apply(record: FederationRecord): Promise<ApplyOutcome> {
    if (this.refuse.has(record.id)) return { outcome: "rejected", code: "STYX_VALIDATION" };
    const k = `${record.origin}\u0000${record.id}`;
    if (this.#seen.has(k)) return { outcome: "duplicate" };
    this.#seen.add(k);
    this.applied.push(record);
    return { outcome: "accepted" };
  }
}
