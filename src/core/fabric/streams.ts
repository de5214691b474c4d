/** Stream names (SPEC §9): one per user, one per knowledge domain, and the public stream. */

/** The public stream (ecosystem-wide events such as pulse). */
export const PUBLIC_STREAM = "public";

/** A knowledge domain as streams (and entries) accept it: a short lowercase token such as `defi.lending`. */
export const DOMAIN_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$";
const DOMAIN_RE = new RegExp(DOMAIN_PATTERN);

/** The stream of a user's golems, steering and achievements. */
export function userStream(userId: string): string {
  return `user:${userId}`;
}

/** The stream of one knowledge domain (pheromones, lethe publications). */
export function domainStream(domain: string): string {
  return `domain:${domain}`;
}

/** Which kind of stream a name is, or undefined for a name no stream can have. */
export function streamKind(stream: string): "user" | "domain" | "public" | undefined {
  if (stream === PUBLIC_STREAM) return "public";
  if (stream.startsWith("user:") && stream.length > 5) return "user";
  if (stream.startsWith("domain:") && DOMAIN_RE.test(stream.slice(7))) return "domain";
  return undefined;
}

/** The user id of a `user:{id}` stream, else undefined. */
export function streamUser(stream: string): string | undefined {
  return stream.startsWith("user:") ? stream.slice(5) : undefined;
}

/** The domain of a `domain:{d}` stream, else undefined. */
export function streamDomain(stream: string): string | undefined {
  return stream.startsWith("domain:") ? stream.slice(7) : undefined;
}
