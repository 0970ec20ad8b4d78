// The time limits of a connection's start: the peer's version line, and its
// part of the first key exchange, must come within set times of the
// transport's creation. Both are optional (0 or absent: no limit of its own).
import { TimeoutError, VersionError } from '../../errors.js';

export class HandshakeDeadlines {
  constructor(
    private readonly createdAt: number,
    /** For the version line (ms after creation). */
    private readonly identTimeoutMs: number,
    /** For the version line and the peer's part of the first exchange (ms after creation). */
    private readonly handshakeTimeoutMs: number,
  ) {}

  /**
   * When the peer must have done its part of the first exchange, or sent its
   * version line, whichever comes first; null once it has (or without limits).
   */
  deadline(versionSeen: boolean, firstKeysComputed: boolean): number | null {
    return earliest(this.identDeadline(versionSeen), this.kexPartDeadline(firstKeysComputed));
  }

  /**
   * Throws when a limit has passed at `now`: a VersionError quoting what the
   * peer sent instead of its version line (`receivedInstead`), or a
   * TimeoutError for the handshake as a whole.
   */
  check(now: number, versionSeen: boolean, firstKeysComputed: boolean, receivedInstead: () => string): void {
    const ident = this.identDeadline(versionSeen);
    if (ident !== null && now >= ident) {
      throw new VersionError(`no SSH identification line within ${this.identTimeoutMs} ms; ${receivedInstead()}`);
    }
    const deadline = this.kexPartDeadline(firstKeysComputed);
    if (deadline !== null && now >= deadline) throw new TimeoutError('handshake (version line and key exchange)', this.handshakeTimeoutMs);
  }

  private identDeadline(versionSeen: boolean): number | null {
    if (this.identTimeoutMs <= 0 || versionSeen) return null;
    return this.createdAt + this.identTimeoutMs;
  }

  private kexPartDeadline(firstKeysComputed: boolean): number | null {
    if (this.handshakeTimeoutMs <= 0 || firstKeysComputed) return null;
    return this.createdAt + this.handshakeTimeoutMs;
  }
}

/** The earlier of two deadlines, either of which may be absent. */
export function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}
