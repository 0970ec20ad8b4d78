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

/** Whether a connection slot a newcomer wants may be taken from this one. */
interface Slot {
  readonly key: string | undefined;
  readonly startedAt: number;
  /** Finished its key exchange: a client that is really talking to us. */
  keyed: boolean;
  readonly evict: (() => void) | undefined;
  release(): void;
}

/** The release function `track` returns; `keyed()` says the connection finished its key exchange. */
export type StartupSlot = (() => void) & { keyed(): void };

/**
 * A connection that has not finished its key exchange this long after it
 * started is stalled (a real client takes well under a second on a normal
 * path, a slow one a few seconds); when the server is full, a stalled slot
 * may go to a newcomer from a block that holds fewer.
 */
export const STALLED_AFTER_MS = 5_000;

/**
 * A connection still not logged in this long after it started is stalled
 * too, key exchange or not: a slow-loris that finished its key exchange and
 * then dribbles authentication requests. (A person typing a password for
 * longer can lose the slot, but only while the server is full and to a
 * block holding fewer.)
 */
export const STALE_AFTER_MS = 30_000;

/**
 * Counts unauthenticated connections, in all and per source, and decides
 * whether a new one may start. The server calls `refusal` before accepting and
 * `track` once accepted; the release `track` returns runs at authentication
 * and again at disconnect, and counts only once.
 *
 * Fair admission (where sshd only refuses the newcomer): when the total limit
 * would refuse a newcomer, `evictFor` instead ends the oldest slot of the block
 * holding the most, if that block holds at least two more than the
 * newcomer's, or one more and that slot is stalled (no key exchange in
 * STALLED_AFTER_MS, or not logged in after STALE_AFTER_MS). So a crowd of idle or
 * garbage-sending sockets spread over many addresses cannot keep out a
 * block that holds none.
 */
export class StartupLimiter {
  private total = 0;
  private readonly bySource = new Map<string, number>();
  private readonly slots = new Set<Slot>();

  constructor(
    private readonly limits: MaxStartups,
    private readonly perSource: number,
    /** A number in [0, 1). */
    private readonly random: () => number,
    /** The block an address counts against; default `sourceKey`. */
    private readonly keyOf: (address: string | undefined) => string | undefined = sourceKey,
  ) {}

  /** Unauthenticated connections now, in all or from `address`'s block. */
  count(address?: string): number {
    if (address === undefined) return this.total;
    const key = this.keyOf(address);
    return key === undefined ? 0 : (this.bySource.get(key) ?? 0);
  }

  /** Why a new connection from `address` is refused, or null to accept it. `perSource` lowers the per-source limit (a block on probation). */
  refusal(address: string | undefined, perSource = this.perSource): string | null {
    const key = this.keyOf(address);
    // The per-source check first: it is certain, and spends no randomness.
    if (key !== undefined && (this.bySource.get(key) ?? 0) >= Math.min(perSource, this.perSource)) return TOO_MANY_FROM_SOURCE;
    const percent = startupDropPercent(this.total, this.limits);
    if (percent >= 100 || (percent > 0 && this.random() * 100 < percent)) return TOO_MANY_UNAUTHENTICATED;
    return null;
  }

  /**
   * Makes room for a newcomer from `address` the total limit refused: ends
   * the slot fair admission picks (see the class comment), releasing it at
   * once. False when no slot may be taken.
   */
  evictFor(address: string | undefined, now: number): boolean {
    const mine = this.keyOf(address);
    const held = mine === undefined ? 0 : (this.bySource.get(mine) ?? 0);
    let victim: Slot | undefined;
    let victimCount = 0;
    for (const s of this.slots) {
      if (s.key === undefined || s.key === mine || !s.evict) continue;
      const n = this.bySource.get(s.key) ?? 0;
      const age = now - s.startedAt;
      const stalled = (!s.keyed && age >= STALLED_AFTER_MS) || age >= STALE_AFTER_MS;
      if (!(n >= held + 2 || (n === held + 1 && stalled))) continue;
      // The block holding most; within it (or a tie) stalled before keyed, then the oldest.
      const better =
        !victim ||
        n > victimCount ||
        (n === victimCount && (victim.keyed && !s.keyed ? true : victim.keyed === s.keyed && s.startedAt < victim.startedAt));
      if (better) {
        victim = s;
        victimCount = n;
      }
    }
    if (!victim) return false;
    victim.release();
    victim.evict!();
    return true;
  }

  /**
   * Counts an accepted connection; the returned function uncounts it (once).
   * `evict` ends the connection if fair admission gives its slot away; without
   * it the slot is never taken.
   */
  track(address: string | undefined, evict?: () => void, now = 0): StartupSlot {
    const key = this.keyOf(address);
    this.total++;
    if (key !== undefined) this.bySource.set(key, (this.bySource.get(key) ?? 0) + 1);
    let counted = true;
    const slot: Slot = {
      key,
      startedAt: now,
      keyed: false,
      evict,
      release: () => {
        if (!counted) return;
        counted = false;
        this.slots.delete(slot);
        this.total--;
        if (key === undefined) return;
        const left = (this.bySource.get(key) ?? 1) - 1;
        // Deleted at zero, so addresses seen once do not pile up in the map.
        if (left > 0) this.bySource.set(key, left);
        else this.bySource.delete(key);
      },
    };
    this.slots.add(slot);
    return Object.assign(() => slot.release(), {
      keyed: () => {
        slot.keyed = true;
      },
    });
  }

  /** Source blocks with unauthenticated connections (for tests: zero once all are gone). */
  get sources(): number {
    return this.bySource.size;
  }
}
