// The options a Transport is made with, and their defaults.
import type { RandomSource, Signer } from '../../algorithms/types.js';
import type { AlgorithmLists, Role } from '../kex/machine.js';
import type { RekeyLimits } from '../kex/rekey.js';

export const DEFAULT_SOFTWARE = 'Nacre_0.1';
export const DEFAULT_KEX_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;

export interface TransportOptions {
  readonly role: Role;
  readonly random: RandomSource;
  /** The clock reading (ms) at creation; later readings come with every input (`now`). */
  readonly now: number;
  readonly algorithms: AlgorithmLists;
  /** Server: host keys to sign with. */
  readonly hostKeys?: readonly Signer[];
  readonly software?: string;
  readonly rekey?: Partial<RekeyLimits>;
  readonly groupSizes?: { readonly min: number; readonly preferred: number; readonly max: number };
  /** Client: send a guessed first kex packet (saves a round trip when the guess is right). */
  readonly guessFirstKex?: boolean;
  /** A key exchange (first or re-) must finish within this time; default 2 minutes. */
  readonly kexTimeoutMs?: number;
  /**
   * The peer must have sent its version line and its part of the first key
   * exchange within this time of our creation (ms); 0 or absent: no limit
   * beyond `kexTimeoutMs`. Separate from the login grace time, so that a
   * socket that sends nothing is dropped long before one that is logging in.
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * The peer's identification (version) line must have arrived within this
   * time of our creation (ms); 0 or absent: no limit of its own. When it has
   * not, the connection ends with a VersionError quoting what the peer sent
   * instead, which tells a peer that is not an SSH server (one that waits
   * for us to speak first, or greets as SMTP does) from one that is slow.
   */
  readonly identTimeoutMs?: number;
  /** Upper-layer bytes held during a key exchange before the connection is dropped; default 64 MiB. */
  readonly maxHeldBytes?: number;
  /** Server: what EXT_INFO announces as `server-sig-algs`. */
  readonly serverSigAlgs?: readonly string[];
}
