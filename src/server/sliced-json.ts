import { Readable } from "node:stream";
import { nextTurn } from "../core/platform/paced.js";

/** Longest stretch of serialization between two turns of the event loop, ms. */
export const SLICE_MS = 2;

/**
 * A large JSON answer serialized in slices that hand the event loop back between them:
 * `{"<field>": [item, item, …], …rest}`. One snapshot page of 1,000 entries with 384-d
 * embeddings is ~8 MB and ~400 ms of number formatting; serialized in one piece (Fastify's
 * response serializer) that is one stretch of the loop during which every other user's request
 * waits (bench/fairness.ts). Here at most `sliceMs` of it runs before the next turn, and a slice
 * is produced only when the socket has taken the previous ones (stream backpressure).
 *
 * `pause` hands the loop back between slices (default: the next turn; a heavy route passes its
 * user's fair turn, core/platform/fair-turns.ts).
 * `rest` must be JSON-serializable without `field`; its keys follow the list in the output.
 * The text is exactly `JSON.stringify({ [field]: items.map(present), ...rest })`.
 */
export function slicedJson<T>(
  field: string,
  items: readonly T[],
  present: (item: T) => unknown,
  rest: Record<string, unknown>,
  sliceMs = SLICE_MS,
  pause: () => Promise<void> = nextTurn,
): Readable {
  const tail = JSON.stringify(rest).slice(1);
  return Readable.from(
    (async function* () {
      let out = `{${JSON.stringify(field)}:[`;
      let from = performance.now();
      for (let i = 0; i < items.length; i++) {
        out += (i === 0 ? "" : ",") + JSON.stringify(present(items[i] as T));
        if (performance.now() - from >= sliceMs && i < items.length - 1) {
          yield out;
          out = "";
          await pause();
          from = performance.now();
        }
      }
      yield `${out}]${tail === "}" ? "}" : `,${tail}`}`;
    })(),
  );
}
