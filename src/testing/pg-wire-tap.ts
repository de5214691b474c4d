import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** A statement a client ran through the tap: which client connection, and its text. */
export interface TappedStatement {
  readonly connection: number;
  readonly text: string;
  /** The connection's round trip the statement went out in. */
  readonly round: number;
}

/** What passed through the tap since a mark. */
export interface TapWindow {
  /** Statements, in the order each connection sent them. */
  readonly statements: readonly TappedStatement[];
  /** Transactions: BEGIN … COMMIT/ROLLBACK on one connection, or a statement outside one (autocommit). */
  readonly transactions: readonly (readonly string[])[];
  /**
   * Round trips of those statements: on each connection, the client's sends that found
   * everything it had sent before answered (ReadyForQuery) — it had waited for the server.
   */
  readonly roundTrips: number;
}

/**
 * A TCP proxy in front of PostgreSQL that reads the wire protocol: every statement a client
 * runs (simple Query, or Parse/Bind/Execute with named statements remembered per connection)
 * and the round trip it went out in (a client send that found nothing of its own unanswered:
 * Syncs and Queries sent against ReadyForQuery received). Tests point a
 * server's STYX_DATABASE_URL at `url` to see what its pool sends, without changing the product.
 */
export class PgWireTap {
  readonly url: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #statements: TappedStatement[] = [];
  #connections = 0;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  /** Listens on a loopback port and forwards to the host and port of `databaseUrl`; `url` is that URL through the tap. */
  static async start(databaseUrl: string): Promise<PgWireTap> {
    const target = new URL(databaseUrl);
    let tap: PgWireTap | undefined;
    const server = createServer((client) => tap?.connection(client, target.hostname, Number(target.port || 5432)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the tap has no port");
    const through = new URL(databaseUrl);
    through.hostname = "127.0.0.1";
    through.port = String(address.port);
    tap = new PgWireTap(server, through.toString());
    return tap;
  }

  /** A mark to read a window from. */
  mark(): number {
    return this.#statements.length;
  }

  /** What passed since `from`, statements matching `ignore` left out (probes that are no part of a request). */
  since(from: number, ignore: (text: string) => boolean = () => false): TapWindow {
    const statements = this.#statements.slice(from).filter((s) => !ignore(s.text));
    const open = new Map<number, string[]>();
    const transactions: string[][] = [];
    for (const s of statements) {
      const head = s.text.trim().toLowerCase();
      const current = open.get(s.connection);
      if (head.startsWith("begin")) open.set(s.connection, [s.text]);
      else if (current) {
        current.push(s.text);
        if (head === "commit" || head === "rollback") {
          transactions.push(current);
          open.delete(s.connection);
        }
      } else transactions.push([s.text]);
    }
    const rounds = new Set(statements.map((s) => `${s.connection}:${s.round}`));
    return { statements, transactions, roundTrips: rounds.size };
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private connection(client: Socket, host: string, port: number): void {
    const id = ++this.#connections;
    const upstream = tcpConnect(port, host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const names = new Map<string, string>();
    let bound = "";
    let round = 0;
    let unanswered = 0;
    const fromClient = messages(true, (type, body) => {
      const [first, second] = cstrings(body, 2);
      if (type === "Q") this.#statements.push({ connection: id, text: first ?? "", round });
      else if (type === "P") names.set(first ?? "", second ?? "");
      else if (type === "B") bound = names.get(second ?? "") ?? "";
      else if (type === "E") this.#statements.push({ connection: id, text: bound, round });
      if (type === "Q" || type === "S") unanswered++;
    });
    const fromServer = messages(false, (type) => {
      // The ReadyForQuery that ends the startup answers nothing the client counted.
      if (type === "Z") unanswered = Math.max(0, unanswered - 1);
    });
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      if (unanswered === 0) round++;
      fromClient(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      client.write(chunk);
      fromServer(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  }
}

/**
 * A reader of one direction's messages, fed chunk by chunk: a type byte and an int32 length
 * (itself included); the client's first message, the startup message, has no type byte.
 */
function messages(client: boolean, onMessage: (type: string, body: Buffer) => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  let started = !client;
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const head = started ? 1 : 0;
      if (buffered.length < head + 4) break;
      const length = buffered.readInt32BE(head);
      if (buffered.length < head + length) break;
      const type = started ? String.fromCharCode(buffered[0] as number) : "";
      const body = buffered.subarray(head + 4, head + length);
      buffered = buffered.subarray(head + length);
      started = true;
      onMessage(type, body);
    }
  };
}

/** The first `n` NUL-terminated strings of `body`. */
function cstrings(body: Buffer, n: number): string[] {
  const out: string[] = [];
  let at = 0;
  while (out.length < n) {
    const end = body.indexOf(0, at);
    if (end < 0) break;
    out.push(body.toString("utf8", at, end));
    at = end + 1;
  }
  return out;
}
