// Per-source penalties, as OpenSSH 9.8's PerSourcePenalties: a source block
// whose connections misbehave (no login attempt, failed logins, running out
// of grace time, malformed input) accumulates penalty time, and once it holds
// at least `min` of it, new connections from the block are refused until the
// time runs out. Pure: every call takes `now` (ms); nothing here keeps a timer.
//
// One addition to sshd: a block from which someone logged in recently has
// credit. A penalised block with credit is not refused outright but put on
// probation (the server admits one unauthenticated connection from it at a
// time), so one bad client behind a shared address (a NAT, a campus) does not
// lock its neighbours out, while it still cannot hold more than one slot.
import { AddressList, DEFAULT_NET_BLOCK_SIZE, addressBlock, checkNetBlockSize, type NetBlockSize } from './address.js';

/** What a connection did to earn a penalty (sshd's PerSourcePenalties keywords). */
export type PenaltyKind = 'crash' | 'authfail' | 'noauth' | 'grace-exceeded' | 'refuseconnection';

export type PenaltyOverflow = 'permissive' | 'deny-all';

/** sshd's PerSourcePenalties, durations in milliseconds. */
export interface PerSourcePenalties {
  /** Connection ended by malformed input from the client before login (sshd: a crash of its child); default 90 s. */
  readonly crash: number;
  /** Ended unauthenticated after one or more failed login attempts; default 5 s. */
  readonly authfail: number;
  /** Ended without attempting to log in; default 1 s. */
  readonly noauth: number;
  /** Ran out of time (handshake or login grace time); default 10 s. */
  readonly graceExceeded: number;
  /** Refused by the administrator's policy (sshd's RefuseConnection); default 10 s. */
  readonly refuseConnection: number;
  /** The most penalty time a block accumulates; default 10 min. */
  readonly max: number;
  /** Penalty time a block must hold before it is refused; default 15 s. */
  readonly min: number;
  /** IPv4 blocks tracked at most; default 65 536. */
  readonly maxSources4: number;
  /** IPv6 blocks tracked at most; default 65 536. */
  readonly maxSources6: number;
  /**
   * When the IPv4 table is full: `permissive` forgets the penalty closest to
   * expiry to make room; `deny-all` refuses every new IPv4 connection not
   * exempt until a penalty expires. Default permissive.
   */
  readonly overflow: PenaltyOverflow;
  /** The same for IPv6; default `overflow`'s mode. */
  readonly overflow6?: PenaltyOverflow;
  /**
   * Nacre's addition: how long a login from a block keeps it from being
   * refused outright (it is put on probation instead: one unauthenticated
   * connection at a time); default 10 min. 0 turns credit off (sshd's behaviour).
   */
  readonly credit: number;
}

/** sshd's defaults (`sshd -T`: crash:90 authfail:5 noauth:1 grace-exceeded:10 refuseconnection:10 max:600 min:15 max-sources4:65536 max-sources6:65536 overflow:permissive). */
export const DEFAULT_PER_SOURCE_PENALTIES: PerSourcePenalties = {
  crash: 90_000,
  authfail: 5_000,
  noauth: 1_000,
  graceExceeded: 10_000,
  refuseConnection: 10_000,
  max: 600_000,
  min: 15_000,
  maxSources4: 65_536,
  maxSources6: 65_536,
  overflow: 'permissive',
  credit: 600_000,
};

export interface PenaltyTableOptions {
  readonly penalties?: Partial<PerSourcePenalties>;
  /** Addresses never penalised (sshd's PerSourcePenaltyExemptList): CIDR blocks, addresses, wildcards, `!` to exclude. */
  readonly exempt?: readonly string[];
  readonly netBlockSize?: NetBlockSize;
}

/** The table's answer for a new connection. */
export type PenaltyVerdict =
  | { readonly verdict: 'accept' }
  /** Penalised, but someone logged in from the block recently: admit one unauthenticated connection at a time. */
  | { readonly verdict: 'probation'; readonly remainingMs: number }
  | { readonly verdict: 'refuse'; readonly reason: string; readonly remainingMs: number };

interface Penalty {
  /** When the accumulated time runs out. */
  expiresAt: number;
  /** Enforced: the block has held at least `min` at some point. */
  active: boolean;
}

const ACCEPT: PenaltyVerdict = { verdict: 'accept' };

export const PENALISED_SOURCE = 'penalty: this address block is refused for a while after misbehaving connections';
export const PENALTY_TABLE_FULL = 'penalty table full: new connections refused until a penalty expires';

function kindDuration(p: PerSourcePenalties, kind: PenaltyKind): number {
  switch (kind) {
    case 'crash':
      return p.crash;
    case 'authfail':
      return p.authfail;
    case 'noauth':
      return p.noauth;
    case 'grace-exceeded':
      return p.graceExceeded;
    case 'refuseconnection':
      return p.refuseConnection;
  }
}

/** Throws a TypeError for settings sshd would refuse (negative or non-numeric times, max-sources below 1). */
export function checkPerSourcePenalties(p: PerSourcePenalties): void {
  for (const k of ['crash', 'authfail', 'noauth', 'graceExceeded', 'refuseConnection', 'max', 'min', 'credit'] as const) {
    if (!(Number.isFinite(p[k]) && p[k] >= 0)) throw new TypeError(`perSourcePenalties.${k} must be a duration in ms, 0 or more (got ${p[k]})`);
  }
  for (const k of ['maxSources4', 'maxSources6'] as const) {
    if (!(Number.isInteger(p[k]) && p[k] >= 1)) throw new TypeError(`perSourcePenalties.${k} must be a whole number of at least 1 (got ${p[k]})`);
  }
  for (const mode of [p.overflow, p.overflow6 ?? p.overflow]) {
    if (mode !== 'permissive' && mode !== 'deny-all') throw new TypeError(`perSourcePenalties overflow mode must be permissive or deny-all (got ${String(mode)})`);
  }
}

/**
 * Penalty time per source block, bounded in memory: at most `maxSources4` +
 * `maxSources6` penalties and as many credits, whatever arrives. Expired
 * entries are dropped as they are met and swept before the table counts as full.
 */
export class PenaltyTable {
  readonly settings: PerSourcePenalties;
  private readonly blockSize: NetBlockSize;
  private readonly exempt: AddressList;
  private readonly penalties = { 4: new Map<string, Penalty>(), 6: new Map<string, Penalty>() };
  /** Block → until when a login from it gives it probation instead of refusal; insertion order is age. */
  private readonly credits = { 4: new Map<string, number>(), 6: new Map<string, number>() };
  /**
   * No penalty of the family ends before this (it may be earlier than the
   * truth, never later), so a full table is swept only when one can have
   * ended: checking a connection against a full table costs O(1), not a pass
   * over up to max-sources entries.
   */
  private readonly earliestEnd = { 4: Infinity, 6: Infinity };

  constructor(options: PenaltyTableOptions = {}) {
    this.settings = { ...DEFAULT_PER_SOURCE_PENALTIES, ...options.penalties };
    checkPerSourcePenalties(this.settings);
    this.blockSize = options.netBlockSize ?? DEFAULT_NET_BLOCK_SIZE;
    checkNetBlockSize(this.blockSize);
    this.exempt = new AddressList(options.exempt ?? []);
  }

  private limit(family: 4 | 6): number {
    return family === 4 ? this.settings.maxSources4 : this.settings.maxSources6;
  }

  private overflowMode(family: 4 | 6): PenaltyOverflow {
    return family === 4 ? this.settings.overflow : (this.settings.overflow6 ?? this.settings.overflow);
  }

  /** Whether `address` is on the exempt list. */
  isExempt(address: string | undefined): boolean {
    return this.exempt.matches(address);
  }

  /** Adds the penalty for `kind` to `address`'s block. Exempt and non-IP addresses are never penalised. */
  penalise(address: string | undefined, kind: PenaltyKind, now: number): void {
    const block = addressBlock(address, this.blockSize);
    const seconds = kindDuration(this.settings, kind);
    if (!block || seconds === 0 || this.exempt.matches(address)) return;
    const table = this.penalties[block.family];
    const { max, min } = this.settings;
    const existing = table.get(block.key);
    if (existing && existing.expiresAt > now) {
      // Penalties add up, to at most `max` from now; enforcement starts once `min` is held.
      existing.expiresAt = Math.min(existing.expiresAt + seconds, now + max);
      if (existing.expiresAt - now >= min) existing.active = true;
      return;
    }
    if (existing) table.delete(block.key);
    if (!this.makeRoom(block.family, now)) return;
    const expiresAt = now + Math.min(seconds, max);
    table.set(block.key, { expiresAt, active: expiresAt - now >= min });
    this.earliestEnd[block.family] = Math.min(this.earliestEnd[block.family], expiresAt);
  }

  /** Frees a place for one more penalty; false when there is none (deny-all mode, table full of live penalties). */
  private makeRoom(family: 4 | 6, now: number): boolean {
    const table = this.penalties[family];
    if (table.size < this.limit(family)) return true;
    this.sweepPenalties(family, now);
    if (table.size < this.limit(family)) return true;
    if (this.overflowMode(family) === 'deny-all') return false;
    // Permissive: forget the penalty that would have ended soonest.
    let soonest: string | undefined;
    let at = Infinity;
    for (const [k, p] of table) {
      if (p.expiresAt < at) {
        at = p.expiresAt;
        soonest = k;
      }
    }
    if (soonest !== undefined) table.delete(soonest);
    return true;
  }

  /** A login succeeded from `address`: its block gets credit (see `PerSourcePenalties.credit`). */
  credit(address: string | undefined, now: number): void {
    const block = addressBlock(address, this.blockSize);
    if (!block || this.settings.credit === 0) return;
    const credits = this.credits[block.family];
    credits.delete(block.key); // re-inserted last: the newest
    if (credits.size >= this.limit(block.family)) {
      for (const [k, until] of credits) if (until <= now) credits.delete(k);
      // Still full: the oldest credit goes (Map iteration is insertion order).
      if (credits.size >= this.limit(block.family)) credits.delete(credits.keys().next().value!);
    }
    credits.set(block.key, now + this.settings.credit);
  }

  /** Whether a new connection from `address` may start now. */
  check(address: string | undefined, now: number): PenaltyVerdict {
    const block = addressBlock(address, this.blockSize);
    if (!block || this.exempt.matches(address)) return ACCEPT;
    const table = this.penalties[block.family];
    if (this.overflowMode(block.family) === 'deny-all' && table.size >= this.limit(block.family)) {
      this.sweepPenalties(block.family, now);
      if (table.size >= this.limit(block.family)) return { verdict: 'refuse', reason: PENALTY_TABLE_FULL, remainingMs: this.earliestEnd[block.family] - now };
    }
    const p = table.get(block.key);
    if (!p) return ACCEPT;
    if (p.expiresAt <= now) {
      table.delete(block.key);
      return ACCEPT;
    }
    if (!p.active) return ACCEPT;
    const remainingMs = p.expiresAt - now;
    const credit = this.credits[block.family].get(block.key);
    if (credit !== undefined && credit > now) return { verdict: 'probation', remainingMs };
    return { verdict: 'refuse', reason: PENALISED_SOURCE, remainingMs };
  }

  /** Penalty time `address`'s block holds now (0 when none or exempt). */
  remaining(address: string | undefined, now: number): number {
    const block = addressBlock(address, this.blockSize);
    const p = block ? this.penalties[block.family].get(block.key) : undefined;
    return p && p.expiresAt > now ? p.expiresAt - now : 0;
  }

  /** Drops the family's expired penalties, if one can have ended since the last sweep, and notes when the next ends. */
  private sweepPenalties(family: 4 | 6, now: number): void {
    if (now < this.earliestEnd[family]) return;
    let earliest = Infinity;
    for (const [k, p] of this.penalties[family]) {
      if (p.expiresAt <= now) this.penalties[family].delete(k);
      else earliest = Math.min(earliest, p.expiresAt);
    }
    this.earliestEnd[family] = earliest;
  }

  /** Drops expired penalties and credits. */
  sweep(now: number): void {
    for (const family of [4, 6] as const) {
      this.sweepPenalties(family, now);
      for (const [k, until] of this.credits[family]) if (until <= now) this.credits[family].delete(k);
    }
  }

  /** Entries held (penalties and credits, per family): bounded by max-sources4/6 each. */
  get size(): { readonly penalties4: number; readonly penalties6: number; readonly credits4: number; readonly credits6: number } {
    return { penalties4: this.penalties[4].size, penalties6: this.penalties[6].size, credits4: this.credits[4].size, credits6: this.credits[6].size };
  }
}
