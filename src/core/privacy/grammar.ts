import type { IdentifierDirectory } from "./directory.js";
import { displayForm } from "./normalize.js";
import { holdsIdentifier, type Writer } from "./scrub.js";

/** The closed grammar of structural values on public surfaces (SPEC §4.2 step 4), after normalization. */
export const PUBLIC_TOKEN_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$";
const PUBLIC_TOKEN = new RegExp(PUBLIC_TOKEN_PATTERN);

/** The one word every refusal gives, whatever failed (it must never confirm an identifier). */
export const NOT_PUBLISHABLE = "not_publishable";

/**
 * A structural value (domain, regime, class, category, causal variable, allow-listed metadata
 * value) as it may appear in public: normalized (NFKC, invisible characters removed, lower
 * case), in the closed grammar, holding no known identifier and nothing a generic detector
 * hides. Undefined when it may not be published.
 */
export function publicToken(value: string, directory: IdentifierDirectory, writer: Writer): string | undefined {
  if (value.length > 256) return undefined;
  const display = displayForm(value);
  const normalized = display.toLowerCase();
  if (!PUBLIC_TOKEN.test(normalized)) return undefined;
  // Checked as written too: a base64 token decodes only in its own case.
  return holdsIdentifier(display, directory, writer) || holdsIdentifier(normalized, directory, writer) ? undefined : normalized;
}

/** A pheromone class: one public token, or two joined by `->` (a causal edge's wisdom). */
export function publicClass(value: string, directory: IdentifierDirectory, writer: Writer): string | undefined {
  const arrow = value.indexOf("->");
  if (arrow < 0) return publicToken(value, directory, writer);
  const from = publicToken(value.slice(0, arrow), directory, writer);
  const to = publicToken(value.slice(arrow + 2), directory, writer);
  return from === undefined || to === undefined ? undefined : `${from}->${to}`;
}
