// Who may start a connection: the unauthenticated-connection limits
// (startups.ts), per-source penalties (the pure table in core/admission) and
// fair admission, behind the few calls the server makes at accept, key
// exchange, authentication and disconnect.
import { NacreError, ProtocolError, TimeoutError, KeyExchangeError, DisconnectReason } from '../errors.js';
import { AddressList, addressBlock, checkNetBlockSize, DEFAULT_NET_BLOCK_SIZE, type NetBlockSize } from '../core/admission/address.js';
import { PenaltyTable, type PenaltyKind, type PerSourcePenalties } from '../core/admission/penalties.js';
import { StartupLimiter, TOO_MANY_UNAUTHENTICATED, sourceKey, type MaxStartups, type StartupSlot } from './startups.js';

export interface AdmissionOptions {
  readonly limits: MaxStartups;
  readonly perSource: number;
  readonly random: () => number;
  /** `false`/absent: no penalties; `true` or settings: sshd's PerSourcePenalties (defaults filled in). */
  readonly penalties?: Partial<PerSourcePenalties> | boolean;
  readonly exempt?: readonly string[];
  readonly netBlockSize?: Partial<NetBlockSize>;
  readonly now: () => number;
}

/** What the server tells admission about one accepted connection. */
export interface AdmittedConnection {
  /** Its first key exchange finished. */
  keyed(): void;
  /** It asked to log in with `method`. */
  attempted(method: string): void;
  /** It logged in: no longer counted, and its block earns credit. */
  authenticated(): void;
  /** It ended, with the error that ended it (null: the server or application closed it). */
  ended(error: NacreError | null, serverClosing: boolean): void;
}

export class Admission {
  private readonly startups: StartupLimiter;
  readonly penalties: PenaltyTable | null;
  private readonly now: () => number;

  constructor(o: AdmissionOptions) {
    this.now = o.now;
    let keyOf = sourceKey;
    if (o.netBlockSize) {
      const size = { ...DEFAULT_NET_BLOCK_SIZE, ...o.netBlockSize };
      checkNetBlockSize(size);
      // IP addresses by the configured block; anything else (a test's label) as itself.
      keyOf = (a) => addressBlock(a, size)?.key ?? sourceKey(a);
    }
    this.startups = new StartupLimiter(o.limits, o.perSource, o.random, remembered(keyOf));
    // Checked even with penalties off, so a typo shows at once rather than when they are turned on.
    new AddressList(o.exempt ?? []);
    this.penalties =
      o.penalties === undefined || o.penalties === false
        ? null
        : new PenaltyTable({
            penalties: o.penalties === true ? {} : o.penalties,
            exempt: o.exempt ?? [],
            netBlockSize: { ...DEFAULT_NET_BLOCK_SIZE, ...o.netBlockSize },
          });
  }

  count(address?: string): number {
    return this.startups.count(address);
  }

  /** Why a new connection from `address` is refused, or null to accept it (possibly after ending another's slot). */
  refusal(address: string | undefined): string | null {
    const now = this.now();
    const verdict = this.penalties?.check(address, now);
    if (verdict?.verdict === 'refuse') return `${verdict.reason} (${Math.ceil(verdict.remainingMs / 1000)} s left)`;
    // On probation, a block may hold one unauthenticated connection at a time.
    const refused = this.startups.refusal(address, verdict?.verdict === 'probation' ? 1 : undefined);
    if (refused === TOO_MANY_UNAUTHENTICATED && this.startups.evictFor(address, now)) return null;
    return refused;
  }

  /** Adds a penalty the server's own events do not show (see Server.penalise). */
  penalise(address: string | undefined, kind: PenaltyKind): void {
    this.penalties?.penalise(address, kind, this.now());
  }

  /** Counts an accepted connection; `evict` ends it if fair admission gives its slot to a newcomer. */
  admit(address: string | undefined, evict: () => void): AdmittedConnection {
    let evicted = false;
    let authenticated = false;
    let attempted = false;
    const slot: StartupSlot = this.startups.track(
      address,
      () => {
        evicted = true;
        evict();
      },
      this.now(),
    );
    return {
      keyed: () => slot.keyed(),
      attempted: (method) => {
        // The opening `none` probe is every client's first request, as in sshd.
        if (method !== 'none') attempted = true;
      },
      authenticated: () => {
        authenticated = true;
        slot();
        this.penalties?.credit(address, this.now());
      },
      ended: (error, serverClosing) => {
        slot();
        // A slot taken by fair admission, a server shutting down, or the application
        // closing the connection itself (error null) is not the client's doing.
        if (authenticated || evicted || serverClosing || error === null || !this.penalties) return;
        this.penalties.penalise(address, penaltyFor(error, attempted), this.now());
      },
    };
  }
}

/**
 * The penalty a connection that ended unauthenticated earns: running out of
 * time is grace-exceeded; malformed input (bad packets, a bad version line,
 * a MAC failure) is sshd's crash, the nearest thing to what would crash a
 * less careful server; otherwise authfail if it tried to log in, else noauth.
 */
export function penaltyFor(error: NacreError, attempted: boolean): PenaltyKind {
  if (error instanceof TimeoutError) return 'grace-exceeded';
  const tooManyFailures = error instanceof ProtocolError && error.reason === DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE;
  if (error instanceof ProtocolError && !tooManyFailures) return 'crash';
  if (error instanceof KeyExchangeError) return 'noauth';
  return attempted ? 'authfail' : 'noauth';
}

/** Addresses whose block key is remembered at most (a few connections' worth of parsing each, kept small). */
const REMEMBERED_KEYS = 4096;

/**
 * `keyOf` with its answers remembered: it is asked two to four times per
 * connection (accept, key exchange, login, end), usually for an address seen
 * just before, and parsing and formatting an address each time showed in
 * profiles of a stream of connections.
 */
function remembered(keyOf: (address: string | undefined) => string | undefined): (address: string | undefined) => string | undefined {
  const known = new Map<string, string | undefined>();
  return (address) => {
    if (address === undefined) return keyOf(address);
    if (known.has(address)) return known.get(address);
    const key = keyOf(address);
    if (known.size >= REMEMBERED_KEYS) known.clear();
    known.set(address, key);
    return key;
  };
}
