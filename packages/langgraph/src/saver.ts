import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  compareWritesSortKeys,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
  writesSortKey,
} from "@langchain/langgraph-checkpoint";
import type { StyxClient } from "@styx/client";
import { type Category, collect, contentOf, deleteAll, type EntryBody, filterable, type ListedEntry, textOf, writeAll } from "./entries.js";

/** Options of `StyxSaver`. */
export interface StyxSaverOptions {
  /** A client holding the golem's key (bound to the golem) or its owner's key. */
  readonly client: StyxClient;
  /** The golem whose graph state this is: every entry is written for it, and only its entries are read. */
  readonly golemId: string;
  /** The category of the entries written (default `strategy_fragment`); exclude it from recall with `categories`. */
  readonly category?: Category;
  readonly serde?: SerializerProtocol;
}

/** Metadata key marking what an entry holds: `checkpoint`, `value` (one channel value at one version) or `writes`. */
export const KIND = "lg_kind";

type Serialized = readonly [type: string, base64: string];

/**
 * A LangGraph checkpointer keeping a golem's graph state in Styx, as entries of the golem's vault
 * written and read through the entries routes (no other storage):
 *
 * - a **checkpoint** is one entry (`lg_kind: checkpoint`) with the thread, namespace, checkpoint
 *   id and parent id in its metadata and the serialized checkpoint (without channel values) and
 *   checkpoint metadata as content;
 * - each **channel value** is stored once per version (`lg_kind: value`, channel and version in
 *   the metadata) when `put` names it in `newVersions`, so a checkpoint stores only the channels
 *   that changed; reading a checkpoint loads each channel at the version it records;
 * - the **pending writes** of one `putWrites` call are one entry (`lg_kind: writes`).
 *
 * A checkpoint and its new values are written in one batch (one transaction); content over 60 KiB
 * goes to a blob. Reads list entries by metadata filters; `list` and the latest checkpoint of a
 * thread page through the thread's checkpoint entries.
 */
export class StyxSaver extends BaseCheckpointSaver {
  readonly client: StyxClient;
  readonly golemId: string;
  readonly category: Category;

  constructor(opts: StyxSaverOptions) {
    super(opts.serde);
    this.client = opts.client;
    this.golemId = opts.golemId;
    this.category = opts.category ?? "strategy_fragment";
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) return undefined;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const checkpointId = (config.configurable?.checkpoint_id as string | undefined) || undefined;
    const found = await this.#checkpoints({ lg_thread: key("thread_id", threadId), lg_ns: key("checkpoint_ns", ns) }, checkpointId);
    const latest = newestFirst(found)[0];
    return latest ? this.#tuple(latest) : undefined;
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = config.configurable ?? {};
    const filter: Record<string, string> = {};
    if (c.thread_id !== undefined) filter.lg_thread = key("thread_id", c.thread_id);
    if (c.checkpoint_ns !== undefined) filter.lg_ns = key("checkpoint_ns", c.checkpoint_ns);
    const before = options.before?.configurable?.checkpoint_id as string | undefined;
    let left = options.limit;
    for (const stored of newestFirst(await this.#checkpoints(filter, (c.checkpoint_id as string | undefined) || undefined))) {
      if (left !== undefined && left <= 0) return;
      if (before !== undefined && stored.checkpointId >= before) continue;
      const tuple = await this.#tuple(stored);
      if (options.filter && !Object.entries(options.filter).every(([k, v]) => (tuple.metadata as Record<string, unknown>)?.[k] === v))
        continue;
      if (left !== undefined) left -= 1;
      yield tuple;
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) throw new Error('StyxSaver.put: the config has no "thread_id" in its "configurable"');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const parent = config.configurable?.checkpoint_id as string | undefined;
    const where = { lg_thread: key("thread_id", threadId), lg_ns: key("checkpoint_ns", ns) };
    const { channel_values: values, ...rest } = checkpoint;
    const entries: EntryBody[] = [];
    for (const [channel, version] of Object.entries(newVersions)) {
      if (!Object.hasOwn(values, channel)) continue;
      const text = JSON.stringify(await this.#dump(values[channel]));
      entries.push(
        await this.#entry(text, `LangGraph channel ${channel}`, {
          [KIND]: "value",
          ...where,
          lg_channel: key("channel", channel),
          lg_version: String(version),
        }),
      );
    }
    const content = JSON.stringify({ checkpoint: await this.#dump(rest), metadata: await this.#dump(metadata) });
    entries.push(
      await this.#entry(content, `LangGraph checkpoint ${checkpoint.id}`, {
        [KIND]: "checkpoint",
        ...where,
        lg_checkpoint: key("checkpoint id", checkpoint.id),
        ...(parent ? { lg_parent: parent } : {}),
      }),
    );
    const ids = await writeAll(this.client, entries);
    // A checkpoint put again under the same id replaces the earlier one.
    const written = ids.at(-1);
    const same = await collect(this.client, {
      golemId: this.golemId,
      metadata: { [KIND]: "checkpoint", ...where, lg_checkpoint: checkpoint.id },
    });
    await deleteAll(
      this.client,
      same.filter((e) => e.id !== written),
    );
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    const threadId = config.configurable?.thread_id as string | undefined;
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (threadId === undefined) throw new Error('StyxSaver.putWrites: the config has no "thread_id" in its "configurable"');
    if (checkpointId === undefined) throw new Error('StyxSaver.putWrites: the config has no "checkpoint_id" in its "configurable"');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const stored = await Promise.all(
      writes.map(async ([channel, value], idx) => [WRITES_IDX_MAP[channel] ?? idx, channel, await this.#dump(value)] as const),
    );
    const text = JSON.stringify({ task_path: taskPath, writes: stored });
    await writeAll(this.client, [
      await this.#entry(text, `LangGraph writes of task ${taskId}`, {
        [KIND]: "writes",
        lg_thread: key("thread_id", threadId),
        lg_ns: key("checkpoint_ns", ns),
        lg_checkpoint: key("checkpoint id", checkpointId),
        lg_task: key("task id", taskId),
      }),
    ]);
  }

  async deleteThread(threadId: string): Promise<void> {
    await deleteAll(
      this.client,
      await collect(this.client, { golemId: this.golemId, metadata: { lg_thread: key("thread_id", threadId) } }),
    );
  }

  async #entry(text: string, label: string, metadata: Record<string, string>): Promise<EntryBody> {
    return {
      golem_id: this.golemId,
      layer: "vault",
      category: this.category,
      ...(await contentOf(this.client, text, label)),
      metadata,
    };
  }

  async #dump(value: unknown): Promise<Serialized> {
    const [type, bytes] = await this.serde.dumpsTyped(value);
    return [type, Buffer.from(bytes).toString("base64")];
  }

  async #load([type, base64]: Serialized): Promise<unknown> {
    return this.serde.loadsTyped(type, new Uint8Array(Buffer.from(base64, "base64")));
  }

  /** The checkpoint entries matching `filter` (and `checkpointId` when given), with their keys. */
  async #checkpoints(filter: Record<string, string>, checkpointId: string | undefined): Promise<StoredCheckpoint[]> {
    const metadata = { [KIND]: "checkpoint", ...filter, ...(checkpointId ? { lg_checkpoint: checkpointId } : {}) };
    const entries = await collect(this.client, { golemId: this.golemId, metadata });
    // Oldest first: a later entry of the same checkpoint (a put repeated) wins.
    const byKey = new Map<string, StoredCheckpoint>();
    for (const entry of entries) {
      const m = entry.metadata as Record<string, string>;
      const s: StoredCheckpoint = {
        entry,
        threadId: String(m.lg_thread),
        ns: String(m.lg_ns),
        checkpointId: String(m.lg_checkpoint),
        parentId: typeof m.lg_parent === "string" ? m.lg_parent : undefined,
      };
      byKey.set(JSON.stringify([s.threadId, s.ns, s.checkpointId]), s);
    }
    return [...byKey.values()];
  }

  async #tuple(s: StoredCheckpoint): Promise<CheckpointTuple> {
    const stored = JSON.parse(await textOf(this.client, s.entry)) as { checkpoint: Serialized; metadata: Serialized };
    const checkpoint = (await this.#load(stored.checkpoint)) as Checkpoint;
    const [channelValues, pendingWrites] = await Promise.all([
      this.#values(s, checkpoint.channel_versions ?? {}),
      this.#writes(s.threadId, s.ns, s.checkpointId),
    ]);
    checkpoint.channel_values = channelValues;
    if (checkpoint.v < 4 && s.parentId !== undefined) await this.#migratePendingSends(checkpoint, s);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: s.threadId, checkpoint_ns: s.ns, checkpoint_id: s.checkpointId } },
      checkpoint,
      metadata: (await this.#load(stored.metadata)) as CheckpointMetadata,
      pendingWrites: pendingWrites.map(([, , write]) => write),
    };
    if (s.parentId !== undefined)
      tuple.parentConfig = { configurable: { thread_id: s.threadId, checkpoint_ns: s.ns, checkpoint_id: s.parentId } };
    return tuple;
  }

  /** Each channel's value at the version the checkpoint records (a channel never stored is absent). */
  async #values(s: StoredCheckpoint, versions: ChannelVersions): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    await Promise.all(
      Object.entries(versions).map(async ([channel, version]) => {
        const found = await collect(this.client, {
          golemId: this.golemId,
          metadata: { [KIND]: "value", lg_thread: s.threadId, lg_ns: s.ns, lg_channel: channel, lg_version: String(version) },
        });
        const last = found.at(-1);
        if (last) setOwn(out, channel, await this.#load(JSON.parse(await textOf(this.client, last)) as Serialized));
      }),
    );
    return out;
  }

  /**
   * The pending writes of a checkpoint in LangGraph's order (task path, task id, index). A write
   * to a regular channel is kept once per (task, index); a special channel's (error, interrupt…)
   * is replaced by a later one, as MemorySaver does.
   */
  async #writes(
    threadId: string,
    ns: string,
    checkpointId: string,
  ): Promise<[number, ReturnType<typeof writesSortKey>, CheckpointPendingWrite][]> {
    const entries = await collect(this.client, {
      golemId: this.golemId,
      metadata: { [KIND]: "writes", lg_thread: threadId, lg_ns: ns, lg_checkpoint: checkpointId },
    });
    const byKey = new Map<string, [number, ReturnType<typeof writesSortKey>, CheckpointPendingWrite]>();
    let order = 0;
    for (const e of entries) {
      const taskId = String((e.metadata as Record<string, unknown>).lg_task);
      const stored = JSON.parse(await textOf(this.client, e)) as { task_path: string; writes: [number, string, Serialized][] };
      for (const [idx, channel, value] of stored.writes) {
        const k = JSON.stringify([taskId, idx]);
        if (idx >= 0 && byKey.has(k)) continue;
        const prev = byKey.get(k);
        byKey.set(k, [prev?.[0] ?? order++, writesSortKey(stored.task_path, taskId, idx), [taskId, channel, await this.#load(value)]]);
      }
    }
    const all = [...byKey.values()];
    return all.sort((a, b) => compareWritesSortKeys(a[1], b[1]));
  }

  /** A checkpoint of format < 4 gets the sends its parent's tasks wrote (as MemorySaver migrates them). */
  async #migratePendingSends(checkpoint: Checkpoint, s: StoredCheckpoint): Promise<void> {
    const parentWrites = await this.#writes(s.threadId, s.ns, s.parentId as string);
    const sends = parentWrites
      .sort((a, b) => a[0] - b[0])
      .filter(([, , [, channel]]) => channel === TASKS)
      .map(([, , [, , value]]) => value);
    setOwn(checkpoint.channel_values, TASKS, sends);
    const versions = Object.values(checkpoint.channel_versions);
    setOwn(checkpoint.channel_versions, TASKS, versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined));
  }
}

interface StoredCheckpoint {
  readonly entry: ListedEntry;
  readonly threadId: string;
  readonly ns: string;
  readonly checkpointId: string;
  readonly parentId: string | undefined;
}

function newestFirst(list: StoredCheckpoint[]): StoredCheckpoint[] {
  return list.sort((a, b) => (a.checkpointId < b.checkpointId ? 1 : a.checkpointId > b.checkpointId ? -1 : 0));
}

/** A configurable value used as a metadata filter: a string Styx can filter on. */
function key(what: string, value: unknown): string {
  if (typeof value !== "string") throw new Error(`StyxSaver: ${what} must be a string (got ${typeof value})`);
  return filterable(`StyxSaver: ${what}`, value);
}

/** Sets an own property even for a name like `__proto__` (channel names come from the graph). */
function setOwn(obj: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
}
