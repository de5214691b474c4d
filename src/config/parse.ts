/** Value parsers for configuration strings. Each throws an Error whose message says what is expected. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** `250ms`, `2s`, `5m`, `1h`, `7d` → milliseconds. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(raw.trim());
  if (!m) throw new Error("must be a duration such as 500ms, 2s, 5m, 1h or 7d");
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
}

/** A duration within [min, max] milliseconds (Node timers overflow past 2^31 − 1 ms, about 24.8 days). */
export function parseDurationIn(minMs: number, maxMs: number): (raw: string) => number {
  return (raw) => {
    const ms = parseDuration(raw);
    if (ms < minMs || ms > maxMs) throw new Error(`must be between ${minMs}ms and ${maxMs}ms`);
    return ms;
  };
}

/**
 * Which proxies to believe for the client IP: `0`/`false` (none: the socket address), a hop
 * count (`1` = one load balancer in front), or a comma list of trusted proxy addresses/CIDRs.
 * Never "any": the left-most X-Forwarded-For entry is whatever the client wrote.
 */
export function parseTrustProxy(raw: string): false | number | string[] {
  const v = raw.trim().toLowerCase();
  if (["", "0", "false", "off", "no"].includes(v)) return false;
  if (/^[1-9]\d?$/.test(v)) return Number(v);
  if (["1", "true", "on", "yes"].includes(v)) return 1;
  const list = v.split(",").map((x) => x.trim());
  if (list.every((x) => /^[0-9a-f:.]+(\/\d{1,3})?$/.test(x) || ["loopback", "linklocal", "uniquelocal"].includes(x))) return list;
  throw new Error("must be 0, a hop count (1–99), or a comma list of proxy addresses/CIDRs");
}

/** `<min>-<max>` durations, min ≤ max → `{ minMs, maxMs }`. */
export function parseDurationRange(raw: string): { minMs: number; maxMs: number } {
  const m = /^([^-]+)-([^-]+)$/.exec(raw.trim());
  if (!m) throw new Error("must be a range <min>-<max> such as 1h-6h or 0s-2s");
  const minMs = parseDuration(m[1] as string);
  const maxMs = parseDuration(m[2] as string);
  if (minMs > maxMs) throw new Error("must have min ≤ max");
  return { minMs, maxMs };
}

/** `1048576`, `64kb`, `1mb` → bytes. */
export function parseSize(raw: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = SIZE_UNITS[(m?.[2] || "b").toLowerCase()];
  if (!m || unit === undefined) throw new Error("must be a size such as 1048576, 64kb or 1mb");
  return Number(m[1]) * unit;
}

/** `50/s:100` (rate per s or per m, then burst) → `{ rate (per second), burst }`. */
export function parseRate(raw: string): { rate: number; burst: number } {
  const m = /^(\d+(?:\.\d+)?)\/(s|m):(\d+)$/.exec(raw.trim());
  if (!m) throw new Error("must look like 50/s:100 (rate per second or minute, then burst)");
  const rate = Number(m[1]) / (m[2] === "m" ? 60 : 1);
  const burst = Number(m[3]);
  if (rate <= 0 || burst < 1) throw new Error("must have a positive rate and a burst of at least 1");
  return { rate, burst };
}

/** `1|true|yes|on` / `0|false|no|off` (any case) → boolean. */
export function parseBool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off", ""].includes(v)) return false;
  throw new Error("must be a boolean (1/0, true/false, on/off)");
}

/** An integer in [min, max]. */
export function parseInteger(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer from ${min} to ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** One of the listed words. */
export function parseOneOf<T extends string>(values: readonly T[]): (raw: string) => T {
  return (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new Error(`must be one of ${values.join(", ")}`);
    return v;
  };
}

/** A URL whose scheme is one of `schemes`. */
export function parseUrl(schemes: readonly string[]): (raw: string) => string {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new Error(`must be a URL (${schemes.join(", ")})`);
    }
    if (!schemes.includes(url.protocol.replace(/:$/, ""))) throw new Error(`must use scheme ${schemes.join(" or ")}`);
    return raw.trim();
  };
}

/**
 * An http(s) origin (scheme, host, optional port; no path, query, fragment or credentials) →
 * its canonical form (`URL.origin`: lowercase host, default port dropped).
 */
export function parseOrigin(raw: string): string {
  const expected = "must be an http(s) origin such as https://styx.example.com (no path)";
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error(expected);
  }
  const bare = url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  if (!(url.protocol === "http:" || url.protocol === "https:") || !bare) throw new Error(expected);
  return url.origin;
}

/** Any non-empty string. */
export function parseString(raw: string): string {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw.trim();
}

/** An EVM address: 0x and 40 hex digits (any case). */
export function parseAddress(raw: string): string {
  const v = raw.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new Error("must be a 0x address of 40 hex digits");
  return v;
}

/** Host names, comma-separated (no scheme, port or path; IPv6 in brackets) → lowercase list; "" → []. */
export function parseHostList(raw: string): string[] {
  const hosts = raw
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  for (const h of hosts) {
    let url: URL;
    try {
      url = new URL(`http://${h}`);
    } catch {
      throw new Error(`'${h}' is not a host name`);
    }
    if (url.hostname !== h) throw new Error(`'${h}' must be a bare host name (no scheme, port or path)`);
  }
  return [...new Set(hosts)];
}
