// What `createServer()` takes: the ServerOptions type, the defaults of its
// limits, and the MaxStartups they add up to. Kept apart from the Server
// that applies them (server.ts) so the option surface reads on its own.
import type { Signer } from '../algorithms/types.js';
import type { AlgorithmPreferences } from '../algorithms/index.js';
import type { RekeyLimits } from '../core/kex/rekey.js';
import type { AuthServerOptions } from '../core/auth/events.js';
import type { ConnectionOptions } from '../core/connection/events.js';
import type { KeepaliveOptions } from '../core/endpoint.js';
import type { CertificateInput } from '../keys/host-certificate.js';
import type { PerSourcePenalties } from '../core/admission/penalties.js';
import type { NetBlockSize } from '../core/admission/address.js';
import type { Authenticate } from './auth.js';
import type { SessionChannel } from './session-channel.js';
import type { ForwardingPolicy } from './forwarding.js';
import { DEFAULT_MAX_STARTUPS, type MaxStartups } from './startups.js';

/**
 * The default `maxStartups.full`: sshd's MaxStartups hard limit.
 * @deprecated with `maxUnauthenticated`; see DEFAULT_MAX_STARTUPS.
 */
export const DEFAULT_MAX_UNAUTHENTICATED = DEFAULT_MAX_STARTUPS.full;
/** Open session channels per connection unless `maxSessions` says otherwise (sshd's MaxSessions default). */
export const DEFAULT_MAX_SESSIONS = 10;

export interface ServerOptions extends ForwardingPolicy {
  /** Host keys (e.g. from `generateHostKey` or `signerFromPrivateKeyFile`); at least one. */
  readonly hostKeys: readonly Signer[];
  /**
   * Host certificates (sshd's HostCertificate): each certifies one of
   * `hostKeys` (a CertificateError at createServer otherwise) and is offered
   * as its `*-cert-v01@openssh.com` host key algorithm, next to the plain key.
   * A parsed certificate, its blob, or its `-cert.pub` line.
   */
  readonly hostCertificates?: readonly CertificateInput[];
  /**
   * After each login, tell the client every plain host key (OpenSSH's
   * `hostkeys-00@openssh.com`) and prove holding them when it asks
   * (`hostkeys-prove-00@openssh.com`), so that ssh's UpdateHostKeys learns
   * new keys and forgets retired ones. Default true, as sshd (which always
   * does); false sends nothing and refuses the proof request.
   */
  readonly announceHostKeys?: boolean;
  /** Judges each authentication attempt; without it every attempt is refused. */
  readonly authenticate?: Authenticate;
  /** Called for each session channel; set handlers on it. Without it session channels are refused. */
  readonly session?: (session: SessionChannel) => void | Promise<void>;
  /** Limits and methods of user authentication (MaxAuthTries, LoginGraceTime, banner ...). */
  readonly auth?: AuthServerOptions;
  readonly algorithms?: AlgorithmPreferences;
  readonly rekey?: Partial<RekeyLimits>;
  /** Probes a silent client (ClientAliveInterval/CountMax); default off. */
  readonly keepalive?: KeepaliveOptions | false;
  /** Channel window, max packet and channel count per connection. */
  readonly connection?: ConnectionOptions;
  /** Connections at once; more are told TOO_MANY_CONNECTIONS and closed. */
  readonly maxConnections?: number;
  /**
   * Connections not yet authenticated (sshd's `MaxStartups begin:rate:full`):
   * below `begin` new ones are accepted; from `begin` on each is refused with
   * a chance of `rate`% rising linearly to 100% at `full`. Refused connections
   * are told TOO_MANY_CONNECTIONS. Default sshd's 10:30:100.
   */
  readonly maxStartups?: MaxStartups;
  /**
   * Unauthenticated connections one source may hold (sshd's
   * PerSourceMaxStartups); an IPv4 address is one source, IPv6 addresses
   * count by /64. Default 5; `Infinity` lifts it.
   */
  readonly maxStartupsPerSource?: number;
  /**
   * @deprecated Use `maxStartups`. Alone, a hard limit with no early drop (sshd's
   * single-number `MaxStartups n`, i.e. `{ begin: n, rate: 100, full: n }`);
   * with `maxStartups`, it caps its `begin` and `full`. `Infinity` lifts the limit.
   */
  readonly maxUnauthenticated?: number;
  /**
   * Time for a client's version line and its part of the first key exchange,
   * separate from (and shorter than) `auth.graceTimeMs`; default 20 s, 0 disables.
   */
  readonly handshakeTimeoutMs?: number;
  /** A number in [0, 1) for maxStartups' random early drop; default crypto randomness. For tests. */
  readonly earlyDropRandom?: () => number;
  /**
   * Forwarded sockets one connection may hold at once (-L connections the
   * server makes and -R connections it accepts, TCP and Unix together); past
   * it -L opens fail with RESOURCE_SHORTAGE and -R connections are closed at
   * once. Default 256; `Infinity` lifts it.
   */
  readonly maxForwardedSockets?: number;
  /**
   * Session channels open at once on one connection (like sshd's
   * MaxSessions); more are refused with RESOURCE_SHORTAGE until one closes.
   * Default 10, as sshd; `Infinity` lifts it.
   */
  readonly maxSessions?: number;
  /** Software version in our identification line. */
  readonly software?: string;
  /**
   * Per-source penalties (OpenSSH 9.8's PerSourcePenalties): an address block
   * whose connections end without logging in earns penalty time by what they
   * did (`noauth`, `authfail`, `graceExceeded` for a handshake or login grace
   * timeout, `crash` for malformed input), and is refused at accept while it
   * holds at least `min`. A block someone logged in from recently is put on
   * probation instead (one unauthenticated connection at a time; `credit`).
   * `true` for sshd's defaults, settings to change some; default off.
   */
  readonly perSourcePenalties?: Partial<PerSourcePenalties> | boolean;
  /** Addresses never penalised (sshd's PerSourcePenaltyExemptList): `192.0.2.0/24`, `2001:db8::/32`, `10.1.*`, `!addr`. */
  readonly penaltyExempt?: readonly string[];
  /**
   * Bits of an address that make one source block, for `maxStartupsPerSource`
   * and penalties (sshd's PerSourceNetBlockSize); default `{ ipv4: 32, ipv6: 64 }`.
   */
  readonly perSourceNetBlockSize?: Partial<NetBlockSize>;
}

/** The MaxStartups in force: `maxStartups`, or the deprecated `maxUnauthenticated` as sshd's single-number form, or both. */
export function startupLimits(o: ServerOptions): MaxStartups {
  const cap = o.maxUnauthenticated;
  if (o.maxStartups === undefined) return cap === undefined ? DEFAULT_MAX_STARTUPS : { begin: cap, rate: 100, full: cap };
  if (cap === undefined) return o.maxStartups;
  return { ...o.maxStartups, begin: Math.min(o.maxStartups.begin, cap), full: Math.min(o.maxStartups.full, cap) };
}
