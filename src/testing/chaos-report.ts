import { appendFileSync } from "node:fs";
import { CHAOS_REPORT_FILE } from "./test-env.js";

/** One proof's figures, as the chaos suite reports them. */
export type Figures = Record<string, string | number>;

/**
 * Reports the figures of one proof of the chaos suite (`npm run test:chaos`): prints them in the
 * test output and, when the runner set `STYX_CHAOS_REPORT`, appends them to that file, from
 * which `scripts/test-chaos.mjs` writes the table of `docs/reliability.md`.
 */
export function reportFigures(proof: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === "number" ? v.toLocaleString("en-US") : v}`)
    .join(", ");
  console.log(`chaos figures · ${proof}: ${line}`);
  if (CHAOS_REPORT_FILE) appendFileSync(CHAOS_REPORT_FILE, `${JSON.stringify({ proof, figures })}\n`);
}
