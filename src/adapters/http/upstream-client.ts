import type { FederationRecord } from "../../core/federation/records.js";
import type {
  HelloReply,
  HelloRequest,
  PushReply,
  RecordChannel,
  RecordHandlers,
  SnapshotLine,
  UpstreamTransport,
} from "../../core/federation/upstream-transport.js";
import { type UpstreamEndpoint, UpstreamHttp } from "./upstream-http.js";
import { openRecordSocket } from "./upstream-socket.js";

/** The UpstreamTransport of a real upstream Styx: HTTP (fetch) for hello, pushes and snapshots; its socket (`ws`) for record streams. */
export class UpstreamClient implements UpstreamTransport {
  readonly #endpoint: UpstreamEndpoint;
  readonly #http: UpstreamHttp;

  constructor(endpoint: UpstreamEndpoint) {
    this.#endpoint = endpoint;
    this.#http = new UpstreamHttp(endpoint);
  }

  hello(request: HelloRequest, signal?: AbortSignal): Promise<HelloReply> {
    return this.#http.hello(request, signal);
  }

  push(records: readonly FederationRecord[], signal?: AbortSignal): Promise<PushReply> {
    return this.#http.push(records, signal);
  }

  snapshot(domain: string, signal?: AbortSignal): AsyncIterable<SnapshotLine> {
    return this.#http.snapshot(domain, signal);
  }

  open(handlers: RecordHandlers): Promise<RecordChannel> {
    return openRecordSocket(this.#endpoint, handlers);
  }
}
