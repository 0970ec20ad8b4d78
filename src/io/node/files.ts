// Reading and writing the files SSH keeps (keys, known_hosts,
// authorized_keys). The parsers in src/keys and src/trust take bytes and
// text; this is where those come from disk, so that a size limit holds
// whatever the file claims and a write never leaves half a file behind.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyFileError, type KeyFileProblem } from '../../keys/pem.js';

/**
 * The most Nacre reads of a known_hosts or authorized_keys file. OpenSSH
 * sets none; this is far past any real file (a known_hosts listing 100,000
 * RSA hosts is about 60 MiB) yet bounds the memory a file can take.
 */
export const MAX_TRUST_FILE_BYTES = 128 << 20;

/** `~` and `~/...` name the user's home directory (the only forms OpenSSH expands in these paths too). */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

function sizeText(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes / (1 << 10)} KiB`;
  return `${bytes} bytes`;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why an operating system call failed, in words. */
function osReason(err: unknown): string {
  const code = errorCode(err);
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/**
 * True for the KeyFileError readBounded throws when nothing is at the path:
 * the file does not exist, or a part of the path before it is a file
 * (ENOTDIR; a write there says why it cannot be made).
 */
export function isMissingFile(err: unknown): boolean {
  const code = err instanceof KeyFileError && err.problem === 'io' ? errorCode(err.cause) : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export interface ReadBoundedOptions {
  /**
   * The problem a refused file (too large, not a regular file) is reported
   * as; default `io`. The key loader says `not-a-private-key`, as it does
   * for bytes that are too many to be a key.
   */
  readonly problem?: KeyFileProblem;
  /** The problem a file over `maxBytes` is reported as; default `problem`. */
  readonly tooLargeProblem?: KeyFileProblem;
}

// Opened without blocking so that a FIFO or a device in a key's place is
// refused by the fstat below instead of waiting for a writer. (0 where the
// platform has no such flag.)
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

/**
 * Reads a whole regular file of at most `maxBytes` bytes. `what` names the
 * kind of file in messages (`key file`, `known_hosts file`). Every failure is
 * a KeyFileError whose `path` is the file: `io` when it cannot be read (see
 * isMissingFile), otherwise `options.problem`. The size stat reports only
 * refuses early: the read itself stops one byte past the limit, so a file
 * that grows, or whose size stat does not tell (/proc), is still refused.
 */
export function readBounded(path: string, maxBytes: number, what: string, options: ReadBoundedOptions = {}): Buffer {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, not ${maxBytes}`);
  const problem = options.problem ?? 'io';
  const tooLarge = () => new KeyFileError(`${what} is larger than ${sizeText(maxBytes)}; refused`, options.tooLargeProblem ?? problem, { path });
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw new KeyFileError(`cannot read ${what} (${osReason(err)})`, 'io', { path, cause: err });
  }
  try {
    let stat;
    try {
      stat = fstatSync(fd);
    } catch (err) {
      throw new KeyFileError(`cannot read ${what} (${osReason(err)})`, 'io', { path, cause: err });
    }
    if (!stat.isFile()) throw new KeyFileError(`${what} is not a regular file`, problem, { path });
    if (stat.size > maxBytes) throw tooLarge();
    // Room for what stat says plus one byte, to notice a file longer than that.
    // (At least 8 KiB: some files, like those in /proc, say they are empty.)
    let buf = Buffer.allocUnsafe(Math.min(Math.max(stat.size, 8191), maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw tooLarge();
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, length, buf.length - length, null);
      } catch (err) {
        throw new KeyFileError(`cannot read ${what} (${osReason(err)})`, 'io', { path, cause: err });
      }
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw tooLarge();
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

export interface WriteFileAtomicOptions {
  /** Refuse (KeyFileError `io`, cause code EEXIST) rather than replace a file already there. */
  readonly exclusive?: boolean;
  /** Names the kind of file in messages; default `file`. */
  readonly what?: string;
  /** Replaces the steps that can fail half-way; for tests that show a failure loses nothing. */
  readonly steps?: Partial<AtomicWriteSteps>;
  /**
   * @internal Asked just before the new file replaces the old one; false
   * abandons the write (the temporary file is removed, nothing replaced) and
   * writeFileAtomic returns false.
   */
  readonly stillCurrent?: () => boolean;
}

/** The steps of an atomic write that can fail after something was written (replaceable for tests). */
export interface AtomicWriteSteps {
  makeDirectory(dir: string, mode: number): void;
  write(fd: number, data: Uint8Array): void;
  rename(from: string, to: string): void;
}

const nodeSteps: AtomicWriteSteps = {
  makeDirectory: (dir, mode) => void mkdirSync(dir, { recursive: true, mode }),
  write(fd, data) {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
  },
  rename: (from, to) => renameSync(from, to),
};

/** Makes a rename or link in `dir` survive a crash; some systems cannot sync a directory, and then this does nothing. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY);
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR/EPERM where directories cannot be synced: nothing more to do
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `data` so that a reader sees the old file or the new
 * one, never a mix, and a failure at any step (a full disk, a directory it
 * may not write) leaves the old file as it was: the data goes to a new file
 * in the same directory, is synced, and is renamed over `path`; then the
 * directory is synced. A symlink at `path` is followed, so a linked
 * ~/.ssh/known_hosts stays a link. `mode` is the new file's permission bits
 * (set explicitly, so the umask does not change them); by default those of
 * the file replaced, or 0600 for a new one. Throws a KeyFileError (`io`)
 * naming `path`.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode?: number, options: WriteFileAtomicOptions = {}): boolean {
  const what = options.what ?? 'file';
  const steps = { ...nodeSteps, ...options.steps };
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let target: string;
  try {
    target = writeTarget(path);
    mode ??= statSync(target).mode & 0o7777;
  } catch (err) {
    // A missing file (at the end of its links, if it is reached through some) is created.
    if (errorCode(err) !== 'ENOENT') throw new KeyFileError(`cannot write ${what} (${osReason(err)})`, 'io', { path, cause: err });
    target ??= path;
  }
  mode ??= 0o600;
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    // 'wx' with a random name: never through a file or link someone placed there.
    const fd = openSync(temp, 'wx', 0o600);
    created = true;
    try {
      steps.write(fd, bytes);
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.stillCurrent && !options.stillCurrent()) {
      unlinkSync(temp);
      return false;
    }
    if (options.exclusive) {
      // link() fails if the name exists, where rename() would replace it.
      linkSync(temp, target);
      unlinkSync(temp);
    } else {
      steps.rename(temp, target);
    }
    created = false;
  } catch (err) {
    if (created) {
      try {
        unlinkSync(temp);
      } catch {
        // the temporary file is left behind; the target is untouched either way
      }
    }
    const why = errorCode(err) === 'EEXIST' && options.exclusive ? 'it already exists' : osReason(err);
    throw new KeyFileError(`cannot write ${what} (${why})`, 'io', { path, cause: err });
  }
  syncDirectory(dir);
  return true;
}

export interface UpdateFileOptions extends Pick<WriteFileAtomicOptions, 'steps'> {
  /** Names the kind of file in messages. */
  readonly what: string;
  /** The most that is read of the current file. */
  readonly maxBytes: number;
  /** Permission bits of the file if it is created (an existing file keeps its own), and of the directory made for it as 0700. Default 0600. */
  readonly newFileMode?: number;
}

/**
 * Read, change and replace a text file atomically (known_hosts on
 * accept-new): `change` gets the text now in the file ('' when there is
 * none) and returns the new text, or null to leave the file alone; it may
 * throw to refuse. The directory is made (0700) if missing, as ssh makes
 * ~/.ssh. The write is `writeFileAtomic`'s, so a failure leaves the old file
 * whole; a file changed by another program meanwhile is read and changed
 * again (`change` runs again), so its change is kept. Returns whether the
 * file was written.
 */
export function updateFileAtomic(path: string, change: (current: string) => string | null, options: UpdateFileOptions): boolean {
  // Another program (a second ssh or Nacre adding its own host) may change
  // the file between our read and our rename, and the rename would drop its
  // change. So the write goes ahead only if the file is still the one read,
  // and otherwise starts over from the file as it is now (ssh appends
  // instead, which loses nothing but can leave half a line).
  for (let attempt = 1; ; attempt++) {
    let target = path;
    try {
      target = writeTarget(path);
    } catch {
      // the read or write below meets the same problem and names it
    }
    const before = fileIdentity(target);
    let current = '';
    try {
      current = readBounded(path, options.maxBytes, options.what).toString('utf8');
    } catch (err) {
      if (!isMissingFile(err)) throw err;
    }
    const next = change(current);
    if (next === null) return false;
    try {
      ({ ...nodeSteps, ...options.steps }).makeDirectory(dirname(target), 0o700);
    } catch (err) {
      throw new KeyFileError(`cannot write ${options.what} (${osReason(err)})`, 'io', { path, cause: err });
    }
    const written = writeFileAtomic(path, next, before === null ? (options.newFileMode ?? 0o600) : undefined, {
      what: options.what,
      ...(options.steps ? { steps: options.steps } : {}),
      stillCurrent: () => fileIdentity(target) === before,
    });
    if (written) return true;
    if (attempt >= MAX_UPDATE_ATTEMPTS) throw new KeyFileError(`cannot write ${options.what} (it kept changing while being written)`, 'io', { path });
  }
}

/** How often updateFileAtomic starts over when the file keeps changing under it. */
const MAX_UPDATE_ATTEMPTS = 8;

/** What changes when a file is written or replaced (null when there is none), to tell whether it changed since. */
function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/** Symbolic links followed at most, as the kernel's own limit (MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/**
 * The file a write to `path` replaces: `path`, or the file at the end of its
 * symbolic links. That file need not exist: a link to a file not made yet
 * (a dotfiles checkout's known_hosts before the first host) is written
 * through, as OpenSSH's append does, and stays a link.
 */
function writeTarget(path: string): string {
  let current = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return current;
      throw err;
    }
    if (!isLink) return current;
    try {
      return realpathSync(current);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    // A dangling link: follow it one step, from the real directory it is in.
    current = resolve(realpathSync(dirname(current)), readlinkSync(current));
  }
  throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
}

