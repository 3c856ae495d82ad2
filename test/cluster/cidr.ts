// IPv4 CIDR arithmetic, and which host routes would collide with the cluster's ranges.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((acc, part) => {
    const n = Number(part);
    if (!/^\d{1,3}$/.test(part) || n > 255) throw new Error(`not an IPv4 address: ${ip}`);
    return acc * 256 + n;
  }, 0);
}

/** Parses `a.b.c.d/n`; a bare address is a /32. The base is masked to the prefix. */
export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const prefix = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: ${text}`);
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(ipv4ToInt(ip ?? '') / size) * size, prefix };
}

export function prefixLength(cidr: string): number {
  return parseCidr(cidr).prefix;
}

export function cidrOverlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const xEnd = x.base + 2 ** (32 - x.prefix);
  const yEnd = y.base + 2 ** (32 - y.prefix);
  return x.base < yEnd && y.base < xEnd;
}

/** A route as `ip -j -4 route show table all` prints it (the fields we read). */
export interface RouteEntry {
  dst: string;
  dev?: string;
  table?: string;
  type?: string;
}

/**
 * Routes that are not ours and cover part of one of `cidrs`: the cluster would shadow or hijack
 * them. Default routes are not conflicts: the cluster's more specific routes win, by design.
 */
export function conflictingRoutes(routes: readonly RouteEntry[], cidrs: readonly string[], ownDevice: string): RouteEntry[] {
  return routes.filter((r) => {
    if (r.dst === 'default' || r.dev === ownDevice) return false;
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(r.dst)) return false;
    // Broadcast and multicast entries of the local table say nothing about where a range goes.
    if (r.type === 'broadcast' || r.type === 'multicast') return false;
    return cidrs.some((c) => cidrOverlaps(r.dst, c));
  });
}

export function describeRoute(r: RouteEntry): string {
  return [r.type && r.type !== 'unicast' ? r.type : undefined, r.dst, r.dev ? `dev ${r.dev}` : undefined, r.table && r.table !== 'main' ? `table ${r.table}` : undefined]
    .filter(Boolean)
    .join(' ');
}
