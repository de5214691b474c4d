/** Stream names (SPEC §9, §17): one per user, one per golem, one per knowledge domain, the public stream, and one per federated domain. */

/** The public stream (ecosystem-wide events such as pulse). */
export const PUBLIC_STREAM = "public";

/** A knowledge domain as streams (and entries) accept it: a short lowercase token such as `defi.lending`. */
export const DOMAIN_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$";
const DOMAIN_RE = new RegExp(DOMAIN_PATTERN);

/** The stream of a user's golems, steering and achievements. */
export function userStream(userId: string): string {
  return `user:${userId}`;
}

/**
 * The stream of one golem: its own steers, the clade deltas of its siblings and its
 * achievements, each also on its owner's `user:` stream. A golem credential's socket follows
 * this one instead of its owner's (SPEC §9), so it hears nothing of its siblings' traffic.
 */
export function golemStream(golemId: string): string {
  return `golem:${golemId}`;
}

/** The stream of one knowledge domain (pheromones, lethe publications). */
export function domainStream(domain: string): string {
  return `domain:${domain}`;
}

/**
 * The federation stream of a domain (SPEC §17.2): one record per event (channel
 * `styx:federation:record`), followed by the `federate` keys of downstream Styx only.
 */
export function federationStream(domain: string): string {
  return `federation:${domain}`;
}

/** The channel of federation records on `federation:{domain}`. */
export const FEDERATION_RECORD_CHANNEL = "styx:federation:record";

/** Which kind of stream a name is, or undefined for a name no stream can have. */
export function streamKind(stream: string): "user" | "golem" | "domain" | "public" | "federation" | undefined {
  if (stream === PUBLIC_STREAM) return "public";
  if (stream.startsWith("federation:") && DOMAIN_RE.test(stream.slice(11))) return "federation";
  if (stream.startsWith("user:") && stream.length > 5) return "user";
  if (stream.startsWith("golem:") && stream.length > 6) return "golem";
  if (stream.startsWith("domain:") && DOMAIN_RE.test(stream.slice(7))) return "domain";
  return undefined;
}

/** The user id of a `user:{id}` stream, else undefined. */
export function streamUser(stream: string): string | undefined {
  return stream.startsWith("user:") ? stream.slice(5) : undefined;
}

/** The golem id of a `golem:{id}` stream, else undefined. */
export function streamGolem(stream: string): string | undefined {
  return stream.startsWith("golem:") ? stream.slice(6) : undefined;
}

/** Whether a stream belongs to one tenant (a user's or a golem's): delivered at once and with exact times, never batched per tick. */
export function isPrivateStream(stream: string): boolean {
  const kind = streamKind(stream);
  return kind === "user" || kind === "golem";
}

/**
 * Whether a stream's events go to its sockets one by one as they come (a tenant's own streams,
 * and federation streams, whose downstreams store a cursor per record), rather than gathered
 * per fan-out tick like domain and public streams.
 */
export function isDeliveredAtOnce(stream: string): boolean {
  const kind = streamKind(stream);
  return kind === "user" || kind === "golem" || kind === "federation";
}

/** The domain of a `domain:{d}` stream, else undefined. */
export function streamDomain(stream: string): string | undefined {
  return stream.startsWith("domain:") ? stream.slice(7) : undefined;
}
