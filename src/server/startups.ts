// Limits on connections that have not authenticated yet, as sshd's
// MaxStartups and PerSourceMaxStartups: a fixed cap alone lets a few idle
// sockets lock every user out, so past `begin` new connections are refused
// at random (a real user retrying soon gets in) and no one source address
// block may hold more than its share.
import { isIPv4, isIPv6 } from 'node:net';

/** sshd's `MaxStartups begin:rate:full`. */
export interface MaxStartups {
  /** Unauthenticated connections accepted unconditionally. */
  readonly begin: number;
  /** Percent chance of refusing a new connection once `begin` are unauthenticated. */
  readonly rate: number;
  /** Unauthenticated connections at which every new one is refused. */
  readonly full: number;
}

/** sshd's default `MaxStartups 10:30:100`. */
export const DEFAULT_MAX_STARTUPS: MaxStartups = { begin: 10, rate: 30, full: 100 };

/**
 * Unauthenticated connections one source may hold (sshd's PerSourceMaxStartups,
 * unlimited there). Half of `begin`: one address block alone can never start
 * the early drop that would turn away everyone else, while a NAT with several
 * users logging in at the same moment (each is unauthenticated for well under
 * a second) still fits.
 */
export const DEFAULT_MAX_STARTUPS_PER_SOURCE = 5;

export const TOO_MANY_UNAUTHENTICATED = 'too many unauthenticated connections';
export const TOO_MANY_FROM_SOURCE = 'too many unauthenticated connections from this address';

/**
 * The percent chance (0–100) that a new connection is refused when `startups`
 * are already unauthenticated: sshd's formula, rate% at `begin` rising linearly
 * to 100% at `full` (sshd computes it in whole percent; this does not round).
 */
export function startupDropPercent(startups: number, limits: MaxStartups): number {
  if (startups < limits.begin) return 0;
  if (startups >= limits.full) return 100;
  return limits.rate + ((100 - limits.rate) * (startups - limits.begin)) / (limits.full - limits.begin);
}

/** Throws a TypeError for limits sshd would refuse to start with. */
export function checkMaxStartups(limits: MaxStartups, perSource: number): void {
  const count = (n: number) => n === Infinity || (Number.isInteger(n) && n >= 0);
  if (!count(limits.begin) || !count(limits.full) || limits.begin > limits.full) {
    throw new TypeError(`createServer: maxStartups needs 0 <= begin <= full (got ${limits.begin}, ${limits.full})`);
  }
  if (!(limits.rate >= 0 && limits.rate <= 100)) throw new TypeError(`createServer: maxStartups.rate must be a percentage (got ${limits.rate})`);
  if (!count(perSource) || perSource < 1) throw new TypeError(`createServer: maxStartupsPerSource must be at least 1 (got ${perSource})`);
}

/**
 * The address block a connection is counted against: an IPv4 address (IPv4-mapped
 * IPv6 included) is its own block; IPv6 addresses group by /64, the smallest
 * block a site or a cloud host is normally given, so one host cannot take a
 * fresh address per connection. Anything else (a test's label) counts as
 * itself; no address at all is not counted per source.
 */
export function sourceKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (isIPv4(address)) return address;
  const bare = address.replace(/%.*$/, ''); // a zone index names our interface, not the peer
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an address `isIPv6` accepted (`::` expanded, a dotted tail as two groups). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = address.indexOf('::');
  if (gap < 0) return parse(address);
  const head = parse(address.slice(0, gap));
  const tail = parse(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Counts unauthenticated connections, in all and per source, and decides
 * whether a new one may start. The server calls `refusal` before accepting and
 * `track` once accepted; the release `track` returns runs at authentication
 * and again at disconnect, and counts only once.
 */
export class StartupLimiter {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    private readonly limits: MaxStartups,
    private readonly perSource: number,
    /** A number in [0, 1). */
    private readonly random: () => number,
  ) {}

  /** Unauthenticated connections now, in all or from `address`'s block. */
  count(address?: string): number {
    if (address === undefined) return this.total;
    const key = sourceKey(address);
    return key === undefined ? 0 : (this.bySource.get(key) ?? 0);
  }

  /** Why a new connection from `address` is refused, or null to accept it. */
  refusal(address: string | undefined): string | null {
    const key = sourceKey(address);
    // The per-source check first: it is certain, and spends no randomness.
    if (key !== undefined && (this.bySource.get(key) ?? 0) >= this.perSource) return TOO_MANY_FROM_SOURCE;
    const percent = startupDropPercent(this.total, this.limits);
    if (percent >= 100 || (percent > 0 && this.random() * 100 < percent)) return TOO_MANY_UNAUTHENTICATED;
    return null;
  }

  /** Counts an accepted connection; the returned function uncounts it (once). */
  track(address: string | undefined): () => void {
    const key = sourceKey(address);
    this.total++;
    if (key !== undefined) this.bySource.set(key, (this.bySource.get(key) ?? 0) + 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.total--;
      if (key === undefined) return;
      const left = (this.bySource.get(key) ?? 1) - 1;
      // Deleted at zero, so addresses seen once do not pile up in the map.
      if (left > 0) this.bySource.set(key, left);
      else this.bySource.delete(key);
    };
  }

  /** Source blocks with unauthenticated connections (for tests: zero once all are gone). */
  get sources(): number {
    return this.bySource.size;
  }
}
