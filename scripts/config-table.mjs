#!/usr/bin/env node
// Prints the README configuration table from src/config/schema.ts (run after `npm run build`).
import { SETTINGS } from "../dist/config/schema.js";

console.log("| variable | default | meaning |\n|---|---|---|");
for (const [name, s] of Object.entries(SETTINGS)) {
  console.log(`| \`${name}\` | ${"default" in s ? `\`${s.default}\`` : "—"} | ${s.doc} |`);
}
