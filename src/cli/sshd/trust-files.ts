// Parsed trust files (AuthorizedKeysFile, TrustedUserCAKeys) kept between
// attempts and connections. sshd reads and parses a user's authorized_keys at
// every attempt; under a stream of logins that read and parse was ~4% of
// nacred's CPU. Here a file is parsed again only when it may have changed:
// one stat per attempt, and the parse is reused while the file is the same
// file (device, inode) with the same size, mtime and ctime. A file changed
// within the last two seconds is never taken from the cache (a filesystem
// with coarse timestamps could give an edit of the same size the same
// times), so an edit always counts from the next attempt on, as with sshd.
import { statSync } from 'node:fs';
import { parseAuthorizedKeys, readBounded, MAX_TRUST_FILE_BYTES } from '../../index.js';

export type ParsedTrustFile = ReturnType<typeof parseAuthorizedKeys>;

/** What must be unchanged for a cached parse to stand for the file. */
interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

interface Cached extends Identity {
  readonly parsed: ParsedTrustFile;
}

/** A change this recent may not show in the file's times yet (coarse timestamps). */
const RACY_NS = 2_000_000_000n;

export class TrustFileCache {
  private readonly files = new Map<string, Cached>();

  constructor(
    /** Files remembered at most; past it the oldest goes. */
    private readonly max = 1024,
    private readonly nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {}

  /**
   * The entries of the authorized_keys-format file at `path` (with the
   * lines it skipped), or null when there is no such file. Throws what
   * readBounded throws for a file that cannot be read (not a regular file,
   * too large, no permission, a path through a file: isMissingFile tells
   * that one), as reading it directly would.
   */
  read(path: string, what: string): ParsedTrustFile | null {
    let st;
    try {
      st = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      // Not even stat-able (ENOTDIR, EACCES): readBounded throws its usual
      // error. Should it read the file after all, that text is used, uncached.
      this.files.delete(path);
      return parseAuthorizedKeys(readBounded(path, MAX_TRUST_FILE_BYTES, what).toString('utf8'), path);
    }
    if (!st) {
      // Absent (sshd's second default file, authorized_keys2, usually is): no error object made.
      this.files.delete(path);
      return null;
    }
    const hit = this.files.get(path);
    if (hit && sameIdentity(hit, st) && this.nowNs() - st.ctimeNs > RACY_NS) return hit.parsed;
    // Read after the stat: a change in between shows in the next stat, which then differs from the one kept.
    const parsed = parseAuthorizedKeys(readBounded(path, MAX_TRUST_FILE_BYTES, what).toString('utf8'), path);
    this.files.delete(path);
    if (this.files.size >= this.max) this.files.delete(this.files.keys().next().value!);
    this.files.set(path, { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, parsed });
    return parsed;
  }

  get size(): number {
    return this.files.size;
  }
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}
