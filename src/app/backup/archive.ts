import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { constants, createGunzip, createGzip, type Gzip } from "node:zlib";
import { type Blake3Stream, blake3Stream } from "../../core/platform/crypto.js";

/**
 * The backup file: gzip over NDJSON, one JSON value per line.
 *
 *   {"format":"styx-backup","version":1,"profile":…,"schema":…,"styx":…,"created_at":…}   header
 *   {"section":"table","name":"entries","columns":[…],"rows":100000}                      a section …
 *   ["e_1", …]                                                                            … and its rows
 *   {"end":{"sections":12,"rows":123456,"blake3":"<hex>"}}                                 trailer
 *
 * Sections are of three kinds: `table` (rows of one table, values by column), `file` (a file
 * of the data dir or an object of the bucket, as base64 chunks) and `messages` (JetStream
 * messages in stream order). Byte values are `{"b64": …}`. The trailer holds the BLAKE3 of
 * every line before it, so a file is accepted only when it is complete and unaltered: a
 * truncated file has no trailer (or gzip reports its end missing), an edited one fails gzip's
 * CRC or the hash. Restore verifies the whole file before it writes anything.
 */
export const BACKUP_FORMAT = "styx-backup";
export const BACKUP_VERSION = 1;

/** What the first line says. */
export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly profile: "micro" | "macro";
  /** Schema version of the store the backup was taken from. */
  readonly schema: number;
  /** Styx version that wrote it. */
  readonly styx: string;
  readonly created_at: string;
  /** Macronode: the cluster it was taken from. */
  readonly cluster?: string;
}

export type SectionKind = "table" | "file" | "messages";

/** A section's opening line. `rows` is announced up front (progress, and checked on read). */
export interface SectionHeader {
  readonly section: SectionKind;
  readonly name: string;
  readonly columns?: readonly string[];
  readonly rows: number;
  /** file sections: size in bytes and mode. */
  readonly size?: number;
  readonly mode?: number;
}

/** A stored value: JSON scalars, or bytes. */
export type BackupValue = null | boolean | number | string | Uint8Array;
export type BackupRow = readonly BackupValue[];

/** A backup or restore refused: a file that is not a complete, unaltered Styx backup, or a target that cannot take it; the message says which. */
export class BackupError extends Error {
  override readonly name = "BackupError";
}

/** Bytes per chunk row of a file section (before base64). */
export const FILE_CHUNK_BYTES = 48 * 1024;

function encodeValue(v: BackupValue): unknown {
  return v instanceof Uint8Array ? { b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") } : v;
}

function decodeValue(v: unknown): BackupValue {
  if (v !== null && typeof v === "object") {
    const b64 = (v as { b64?: unknown }).b64;
    if (typeof b64 !== "string") throw new Error("a value is neither a scalar nor {b64}");
    return Buffer.from(b64, "base64");
  }
  return v as BackupValue;
}

/**
 * Writes a backup to `path`: into `path.partial` (mode 0600: a backup holds the server's
 * secrets), renamed into place by `finish`, so an interrupted backup never leaves a file under
 * the name asked for.
 */
export class BackupWriter {
  readonly #path: string;
  readonly #partial: string;
  readonly #gzip: Gzip;
  readonly #file: WriteStream;
  readonly #hash: Blake3Stream;
  #sections = 0;
  #rows = 0;
  #open: { header: SectionHeader; written: number } | undefined;
  #failed: Error | undefined;

  private constructor(path: string, hash: Blake3Stream) {
    this.#path = path;
    this.#partial = `${path}.partial`;
    this.#hash = hash;
    this.#gzip = createGzip({ level: constants.Z_BEST_SPEED });
    this.#file = createWriteStream(this.#partial, { mode: 0o600, flags: "w" });
    const fail = (err: Error) => {
      this.#failed ??= err;
    };
    this.#gzip.on("error", fail);
    this.#file.on("error", fail);
    this.#gzip.pipe(this.#file);
  }

  static async create(path: string, header: Omit<BackupHeader, "format" | "version">): Promise<BackupWriter> {
    const w = new BackupWriter(path, await blake3Stream());
    await w.#line({ format: BACKUP_FORMAT, version: BACKUP_VERSION, ...header });
    return w;
  }

  /** Opens a section; exactly `header.rows` rows must follow. */
  async section(header: SectionHeader): Promise<void> {
    this.#closeSection();
    this.#open = { header, written: 0 };
    this.#sections++;
    await this.#line(header);
  }

  async row(values: BackupRow): Promise<void> {
    const open = this.#open;
    if (!open) throw new Error("row outside a section");
    if (++open.written > open.header.rows)
      throw new Error(`section ${open.header.name} has more rows than the ${open.header.rows} announced`);
    this.#rows++;
    await this.#line(values.map(encodeValue));
  }

  /** Writes the trailer, flushes, syncs and renames the file into place; returns the totals. */
  async finish(): Promise<{ sections: number; rows: number; blake3: string }> {
    this.#closeSection();
    const end = { sections: this.#sections, rows: this.#rows, blake3: this.#hash.hex() };
    this.#gzip.end(`${JSON.stringify({ end })}\n`);
    await once(this.#file, "close");
    if (this.#failed) throw this.#failed;
    await rename(this.#partial, this.#path);
    return end;
  }

  /** Stops writing and removes the partial file. */
  async abort(): Promise<void> {
    this.#gzip.destroy();
    this.#file.destroy();
    await rm(this.#partial, { force: true });
  }

  #closeSection(): void {
    const open = this.#open;
    if (open && open.written !== open.header.rows)
      throw new Error(`section ${open.header.name}: ${open.written} rows written, ${open.header.rows} announced`);
    this.#open = undefined;
  }

  async #line(value: unknown): Promise<void> {
    if (this.#failed) throw this.#failed;
    const line = `${JSON.stringify(value)}\n`;
    this.#hash.update(line);
    if (!this.#gzip.write(line)) await once(this.#gzip, "drain");
  }
}

/** One item of a backup file, in file order. */
export type BackupItem =
  | { readonly kind: "section"; readonly header: SectionHeader }
  | { readonly kind: "row"; readonly section: SectionHeader; readonly values: BackupRow };

/** What verification found: the header, every section with its row count, and the totals. */
export interface BackupSummary {
  readonly header: BackupHeader;
  readonly sections: readonly SectionHeader[];
  readonly rows: number;
  readonly blake3: string;
}

/** A read failure of a backup file, told as what it means for the file. */
function describeReadError(path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT") return new BackupError(`${path}: no such file`);
  if (e.code === "Z_BUF_ERROR" || /unexpected end of file/i.test(e.message))
    return new BackupError(`${path} is truncated: its compressed data ends early (an interrupted copy or a full disk?)`);
  if (e.code === "Z_DATA_ERROR") return new BackupError(`${path} is damaged or not a Styx backup: ${e.message} (gzip)`);
  return e instanceof Error ? e : new Error(String(err));
}

/** The uncompressed lines of `path`, zlib and read errors turned into BackupError. */
async function* lines(path: string): AsyncGenerator<string> {
  const source = createReadStream(path);
  const gunzip = createGunzip();
  source.on("error", (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const decoder = new StringDecoder("utf8");
  let rest = "";
  try {
    for await (const chunk of gunzip) {
      const text = rest + decoder.write(chunk as Buffer);
      const parts = text.split("\n");
      rest = parts.pop() ?? "";
      for (const p of parts) yield p;
    }
  } catch (err) {
    throw describeReadError(path, err);
  } finally {
    source.destroy();
  }
  rest += decoder.end();
  if (rest !== "") yield rest;
}

/**
 * Reads `path` from start to end, checking everything but applying nothing: the header, that
 * each section holds the rows it announced, the trailer's totals and hash. Calls `onItem` for
 * every section and row (restore's second pass applies them; verification passes nothing).
 */
export async function readBackup(path: string, onItem?: (item: BackupItem) => Promise<void> | void): Promise<BackupSummary> {
  const hash = await blake3Stream();
  let header: BackupHeader | undefined;
  const sections: SectionHeader[] = [];
  let open: { header: SectionHeader; read: number } | undefined;
  let rows = 0;
  let trailer: { sections: number; rows: number; blake3: string } | undefined;
  let n = 0;
  const bad = (why: string) => new BackupError(`${path} is not a valid Styx backup: line ${n}: ${why}`);
  const closeSection = () => {
    if (open && open.read !== open.header.rows)
      throw new BackupError(
        `${path} was altered: section ${open.header.section} ${open.header.name} holds ${open.read} rows, its header announced ${open.header.rows}`,
      );
    open = undefined;
  };
  for await (const line of lines(path)) {
    n++;
    if (trailer) throw bad("data after the trailer");
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw n === 1 ? new BackupError(`${path} is not a Styx backup (its first line is not JSON)`) : bad("not JSON");
    }
    if (n === 1) {
      const h = value as Partial<BackupHeader>;
      if (h?.format !== BACKUP_FORMAT) throw new BackupError(`${path} is not a Styx backup (no styx-backup header)`);
      if (h.version !== BACKUP_VERSION)
        throw new BackupError(`${path} is a Styx backup of format ${h.version}; this Styx reads format ${BACKUP_VERSION}`);
      if ((h.profile !== "micro" && h.profile !== "macro") || typeof h.schema !== "number") throw bad("the header lacks profile or schema");
      header = h as BackupHeader;
      hash.update(`${line}\n`);
      continue;
    }
    if (Array.isArray(value)) {
      if (!open) throw bad("a row outside any section");
      open.read++;
      if (open.read > open.header.rows) throw bad(`section ${open.header.name} holds more rows than the ${open.header.rows} announced`);
      rows++;
      hash.update(`${line}\n`);
      if (onItem) {
        let values: BackupRow;
        try {
          values = value.map(decodeValue);
        } catch (err) {
          throw bad((err as Error).message);
        }
        await onItem({ kind: "row", section: open.header, values });
      }
      continue;
    }
    const v = value as Record<string, unknown>;
    if (v && typeof v === "object" && "end" in v) {
      closeSection();
      trailer = v.end as typeof trailer;
      continue;
    }
    if (v && typeof v.section === "string" && typeof v.name === "string" && typeof v.rows === "number") {
      closeSection();
      const s = v as unknown as SectionHeader;
      if (!["table", "file", "messages"].includes(s.section)) throw bad(`unknown section kind ${s.section}`);
      open = { header: s, read: 0 };
      sections.push(s);
      hash.update(`${line}\n`);
      if (onItem) await onItem({ kind: "section", header: s });
      continue;
    }
    throw bad("neither a section, a row nor the trailer");
  }
  if (!header) throw new BackupError(`${path} is empty`);
  if (!trailer) throw new BackupError(`${path} is truncated: it ends without its trailer (line ${n} is the last)`);
  const digest = hash.hex();
  if (trailer.blake3 !== digest) throw new BackupError(`${path} was altered: its content hash does not match the one in its trailer`);
  if (trailer.sections !== sections.length || trailer.rows !== rows)
    throw new BackupError(
      `${path} was altered: its trailer counts ${trailer.sections} sections and ${trailer.rows} rows, the file holds ${sections.length} and ${rows}`,
    );
  return { header, sections, rows, blake3: digest };
}
