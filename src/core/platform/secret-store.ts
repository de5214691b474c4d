/**
 * Where a Styx keeps its own secrets (admin token when generated, lethe salt, challenge key):
 * files of mode 0600 in the data dir (micronode), memory (amnesia: new every run), or the
 * cluster's database (macronode: every gateway must use the same ones).
 * Obligation: `loadOrCreate` is first-writer-wins: two processes creating a secret at once
 * both end up with the one stored first.
 */
export interface SecretStore {
  /** The stored secret `name`, or a new one from `make`, stored now; `created` says which. */
  loadOrCreate(name: string, make: () => string): Promise<{ value: string; created: boolean }>;
  /** The stored secret `name`, or undefined when there is none (creates nothing: read-only tools). */
  load(name: string): Promise<string | undefined>;
  /** Where `name` lives, for operators (never the value). */
  where(name: string): string;
}
