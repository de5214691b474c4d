import { opendir, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * Bytes of the regular files under `dir`, walked asynchronously (one directory handle at a
 * time, entries streamed): the event loop is never held for the whole walk. A missing `dir`
 * is 0 bytes; a file removed during the walk is skipped.
 */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for await (const entry of handle) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) pending.push(p);
      else if (entry.isFile()) total += await fileBytes(p);
    }
  }
  return total;
}

/** Bytes of one file (0 when it does not exist). */
export async function fileBytes(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}
