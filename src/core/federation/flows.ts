/**
 * What a Styx federates with its upstream (SPEC §17.1): flows by kind and direction
 * (`STYX_FEDERATE`), for the domains of `STYX_FEDERATE_DOMAINS`. Pure.
 */

/** Kinds of records that travel as records (the marketplace is a proxied route, not a record). */
export const RECORD_KINDS = ["pheromone", "lethe", "causal"] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** Every flow `STYX_FEDERATE` may name. */
export const FLOW_NAMES = [...RECORD_KINDS, "marketplace"] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

/** The directions of one flow: `up` sends local records to the upstream, `down` applies the upstream's. */
export interface FlowDirections {
  readonly up: boolean;
  readonly down: boolean;
}

/** The flows in force, by name (a name absent: that flow is off both ways). */
export type Flows = ReadonlyMap<FlowName, FlowDirections>;

/** The domains federated: every domain (`*`), or a set. */
export type FederatedDomains = { readonly all: true } | { readonly all: false; readonly names: ReadonlySet<string> };

const DOMAIN_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * Parses `STYX_FEDERATE`: a comma-separated list of flow names, each both ways unless suffixed
 * `:up` or `:down` (`pheromone,lethe:down,marketplace`). A name given twice with both suffixes
 * is both ways. The marketplace flows down only. Throws a message fit for a config error.
 */
export function parseFlows(raw: string): Flows {
  const flows = new Map<FlowName, FlowDirections>();
  for (const part of raw.split(",").map((s) => s.trim())) {
    if (part === "") continue;
    const [name, dir, extra] = part.split(":");
    if (extra !== undefined || !FLOW_NAMES.includes(name as FlowName))
      throw new Error(`'${part}' is not a flow: use ${FLOW_NAMES.join(", ")}, each optionally with :up or :down`);
    if (dir !== undefined && dir !== "up" && dir !== "down") throw new Error(`'${part}': the direction is :up or :down`);
    const flow = name as FlowName;
    if (flow === "marketplace" && dir === "up") throw new Error("the marketplace flows down only (listings are made on the upstream)");
    const before = flows.get(flow) ?? { up: false, down: false };
    const up = flow !== "marketplace" && (dir === undefined || dir === "up");
    flows.set(flow, { up: before.up || up, down: before.down || dir === undefined || dir === "down" });
  }
  return flows;
}

/** `STYX_FEDERATE` as text again (sorted, the same meaning): what the hello sends. */
export function formatFlows(flows: Flows): string[] {
  return [...flows]
    .filter(([, d]) => d.up || d.down)
    .map(([name, d]) => (d.up && d.down ? name : d.up ? `${name}:up` : `${name}:down`))
    .sort();
}

/** Parses `STYX_FEDERATE_DOMAINS`: `*`, or a comma-separated list of domains (empty: none). */
export function parseFederatedDomains(raw: string): FederatedDomains {
  const t = raw.trim();
  if (t === "*") return { all: true };
  const names = new Set<string>();
  for (const d of t.split(",").map((s) => s.trim())) {
    if (d === "") continue;
    if (!DOMAIN_RE.test(d)) throw new Error(`'${d}' is not a domain (lowercase a–z 0–9 _ . -, ≤ 64 characters) nor *`);
    names.add(d);
  }
  return { all: false, names };
}

/** Whether `domain` is federated. */
export function federatesDomain(domains: FederatedDomains, domain: string): boolean {
  return domains.all || domains.names.has(domain);
}

/** Whether records of `kind` in `domain` go up (local records to the upstream). */
export function sendsUp(flows: Flows, domains: FederatedDomains, kind: RecordKind, domain: string): boolean {
  return (flows.get(kind)?.up ?? false) && federatesDomain(domains, domain);
}

/** Whether records of `kind` in `domain` come down (the upstream's records applied here). */
export function takesDown(flows: Flows, domains: FederatedDomains, kind: RecordKind, domain: string): boolean {
  return (flows.get(kind)?.down ?? false) && federatesDomain(domains, domain);
}

/**
 * What an upstream agrees to at hello: the flows both sides name (an upstream serves every
 * flow, so the downstream's list), and the downstream's domains (`*` stays `*`).
 */
export function agreedDomains(domains: FederatedDomains): string[] {
  return domains.all ? ["*"] : [...domains.names].sort();
}
