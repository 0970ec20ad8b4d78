// Password authentication against a password file of scrypt hashes (the
// format is in src/config/password-file.ts), for servers that cannot use PAM.
// Every refusal costs the same: an unknown user, a malformed line, an unsafe
// or missing file are checked against a dummy hash with the parameters the
// file's own entries use, and no refusal is answered before a fixed minimum
// time, so neither time nor work tells whether a user exists.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { KeyFileError } from '../keys/pem.js';
import { readBounded, updateFileAtomic } from '../io/node/files.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  NEW_HASH_BYTES,
  NEW_SALT_BYTES,
  checkScryptParams,
  deletePasswordLine,
  formatPasswordHash,
  parsePasswordFile,
  scryptMemory,
  setPasswordLine,
  type ParsedPasswordFile,
  type PasswordHash,
  type ScryptParams,
} from '../config/password-file.js';
import type { Authenticate, AuthContext } from './auth.js';

/** scrypt as the password file uses it; replaceable in tests to count the work done. */
export type ScryptFunction = (password: Uint8Array, salt: Uint8Array, keyLength: number, params: ScryptParams) => Promise<Uint8Array>;

/** node:crypto's scrypt, off the main thread, with room for the parameters' memory. */
export const nodeScrypt: ScryptFunction = (password, salt, keyLength, params) =>
  new Promise((resolve, reject) => {
    const options = { N: 2 ** params.log2N, r: params.r, p: params.p, maxmem: scryptMemory(params) * 2 + (1 << 20) };
    scryptCallback(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });

/** The largest password file read (a file of 10 000 users is under 1.5 MB). */
export const MAX_PASSWORD_FILE_BYTES = 4 << 20;

/** Refusals are answered no sooner than this after the check began (sshd waits a few ms; the hash itself takes tens). */
export const DEFAULT_PASSWORD_MINIMUM_DELAY_MS = 250;

/** A `$scrypt$...` hash of `password` with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS, scrypt: ScryptFunction = nodeScrypt): Promise<string> {
  checkScryptParams(params);
  const salt = new Uint8Array(randomBytes(NEW_SALT_BYTES));
  const hash = await scrypt(Buffer.from(password, 'utf8'), salt, NEW_HASH_BYTES, params);
  return formatPasswordHash({ params, salt, hash });
}

/** Whether `password` matches a parsed hash (constant-time comparison). */
export async function verifyPassword(password: string, h: PasswordHash, scrypt: ScryptFunction = nodeScrypt): Promise<boolean> {
  const got = await scrypt(Buffer.from(password, 'utf8'), h.salt, h.hash.length, h.params);
  return got.length === h.hash.length && timingSafeEqual(got, h.hash);
}

export interface PasswordFileOptions {
  /** Refusals are answered no sooner than this many ms after the check began; default 250. */
  readonly minimumDelayMs?: number;
  /** Told of problems with the file (malformed lines, unsafe permissions, unreadable), once each time it changes. */
  readonly onWarning?: (message: string) => void;
  /** For tests: counts or replaces the hashing. */
  readonly scrypt?: ScryptFunction;
}

/** Why the whole file is not used (then every user is refused), or null. */
function unsafeFile(path: string, st: { uid: number; mode: number }): string | null {
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return `${path} belongs to another user (uid ${st.uid}); not used`;
  if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); not used`;
  return null;
}

/**
 * A password file, re-read when it changes (its size, times or inode), as an
 * `authenticate` handler: `new PasswordFile(path).authenticate`.
 */
export class PasswordFile {
  private readonly scrypt: ScryptFunction;
  private readonly minimumDelayMs: number;
  private readonly warn: (message: string) => void;
  private identity: string | null = null;
  private parsed: ParsedPasswordFile = { entries: new Map(), errors: [] };
  private dummy: PasswordHash;

  constructor(
    readonly path: string,
    options: PasswordFileOptions = {},
  ) {
    this.scrypt = options.scrypt ?? nodeScrypt;
    this.minimumDelayMs = options.minimumDelayMs ?? DEFAULT_PASSWORD_MINIMUM_DELAY_MS;
    this.warn = options.onWarning ?? (() => undefined);
    this.dummy = dummyHash(DEFAULT_SCRYPT_PARAMS, NEW_HASH_BYTES);
    this.refresh();
  }

  /** Re-reads the file if it changed since the last read. */
  refresh(): void {
    let st;
    try {
      st = statSync(this.path);
    } catch (err) {
      this.use('missing', { entries: new Map(), errors: [] }, `cannot read ${this.path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); every password is refused`);
      return;
    }
    const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.uid}`;
    if (identity === this.identity) return;
    const unsafe = unsafeFile(this.path, st);
    if (unsafe) {
      this.use(identity, { entries: new Map(), errors: [] }, unsafe);
      return;
    }
    let text: string;
    try {
      text = readBounded(this.path, MAX_PASSWORD_FILE_BYTES, 'password file').toString('utf8');
    } catch (err) {
      this.use(identity, { entries: new Map(), errors: [] }, `${err instanceof KeyFileError ? err.message : String(err)}; every password is refused`);
      return;
    }
    if ((st.mode & 0o004) !== 0) this.warn(`${this.path} is readable by everyone (mode ${(st.mode & 0o777).toString(8)}): anyone can try to guess its passwords offline (chmod 600 it)`);
    this.use(identity, parsePasswordFile(text, this.path));
  }

  private use(identity: string, parsed: ParsedPasswordFile, warning?: string): void {
    if (identity === this.identity) return;
    this.identity = identity;
    this.parsed = parsed;
    if (warning) this.warn(warning);
    for (const e of parsed.errors) this.warn(e.message);
    // The dummy costs what the file's usual entry costs, so an unknown user takes as long as a known one.
    const common = mostCommonShape(parsed);
    this.dummy = dummyHash(common.params, common.hashLength);
  }

  /** Users with a usable line (for tests and tools). */
  get users(): readonly string[] {
    return [...this.parsed.entries.values()].filter((e) => !('malformed' in e.hash)).map((e) => e.user);
  }

  /**
   * Whether `password` is `user`'s. Exactly one scrypt computation either way:
   * against the user's hash, or against the dummy for an unknown user or an
   * unusable line; a refusal is answered no sooner than the minimum delay.
   */
  async verify(user: string, password: string): Promise<boolean> {
    const started = performance.now();
    this.refresh();
    const entry = this.parsed.entries.get(user);
    const real = entry && !('malformed' in entry.hash) ? entry.hash : null;
    const ok = await verifyPassword(password, real ?? this.dummy, this.scrypt);
    if (ok && real) return true;
    const left = this.minimumDelayMs - (performance.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    return false;
  }

  /** An `authenticate` handler: the password method against this file; anything else is refused. */
  readonly authenticate: Authenticate = async (ctx: AuthContext) => {
    if (ctx.method !== 'password' || ctx.password === undefined) return false;
    // A client asking to change an expired password: this file has no expiry; the old password decides.
    return this.verify(ctx.username, ctx.password);
  };
}

/** An `authenticate` handler checking passwords against the file at `path` (see PasswordFile). */
export function passwordFileAuthenticator(path: string, options: PasswordFileOptions = {}): Authenticate {
  return new PasswordFile(path, options).authenticate;
}

function dummyHash(params: ScryptParams, hashLength: number): PasswordHash {
  return { params, salt: new Uint8Array(randomBytes(NEW_SALT_BYTES)), hash: new Uint8Array(randomBytes(hashLength)) };
}

function mostCommonShape(parsed: ParsedPasswordFile): { params: ScryptParams; hashLength: number } {
  const counts = new Map<string, { n: number; params: ScryptParams; hashLength: number }>();
  for (const e of parsed.entries.values()) {
    if ('malformed' in e.hash) continue;
    const k = `${e.hash.params.log2N},${e.hash.params.r},${e.hash.params.p},${e.hash.hash.length}`;
    const c = counts.get(k) ?? { n: 0, params: e.hash.params, hashLength: e.hash.hash.length };
    c.n++;
    counts.set(k, c);
  }
  let best = { n: 0, params: DEFAULT_SCRYPT_PARAMS, hashLength: NEW_HASH_BYTES };
  for (const c of counts.values()) if (c.n > best.n) best = c;
  return best;
}

export interface PasswordFileUpdateOptions {
  readonly params?: ScryptParams;
  readonly scrypt?: ScryptFunction;
}

/**
 * Sets `user`'s password in the file at `path` (creating it 0600), replacing
 * it atomically: a failure leaves the old file whole. Refuses a file with
 * malformed lines (naming file and line) rather than rewrite what it cannot read.
 */
export async function setPasswordInFile(path: string, user: string, password: string, options: PasswordFileUpdateOptions = {}): Promise<void> {
  const hash = await hashPassword(password, options.params ?? DEFAULT_SCRYPT_PARAMS, options.scrypt ?? nodeScrypt);
  updateFileAtomic(path, (current) => setPasswordLine(checkedText(current, path), user, hash), { what: 'password file', maxBytes: MAX_PASSWORD_FILE_BYTES, newFileMode: 0o600 });
}

/** Removes `user` from the file at `path`; false when the user was not there. */
export function deletePasswordFromFile(path: string, user: string): boolean {
  return updateFileAtomic(path, (current) => deletePasswordLine(checkedText(current, path), user), { what: 'password file', maxBytes: MAX_PASSWORD_FILE_BYTES });
}

function checkedText(text: string, path: string): string {
  const { errors } = parsePasswordFile(text, path);
  if (errors[0]) throw errors[0];
  return text;
}
