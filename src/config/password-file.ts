// The password file `nacred` checks passwords against (PAM being out of
// reach), as text: parsing, and the line edits `nacred passwd` makes. Pure;
// hashing (node:crypto scrypt) and file access are in src/server/password-file.ts.
//
// Format, one user a line:
//
//   # comment (also blank lines)
//   alice:$scrypt$ln=15,r=8,p=1$<salt>$<hash>
//
// `ln` is log2 of scrypt's cost N, `r` its block size, `p` its parallelism;
// salt and hash are base64 (standard alphabet, no padding, as the PHC string
// format). Nothing in a line is trusted: the name is a plain user name, the
// parameters are bounded (ln 10–20, r 1–32, p 1–16, and 128·N·r at most
// 256 MiB), the salt is 16–64 bytes and the hash 32–64 bytes, and a line is at
// most 1024 characters.
import { ConfigError } from '../errors.js';

export interface ScryptParams {
  /** log2 of scrypt's N (CPU and memory cost). */
  readonly log2N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** For new hashes: N = 2^15, r = 8, p = 1 (32 MiB and some tens of ms per check, the usual interactive-login choice). */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { log2N: 15, r: 8, p: 1 };

export const SCRYPT_LIMITS = {
  log2N: [10, 20],
  r: [1, 32],
  p: [1, 16],
  /** 128·N·r, the memory one check takes. */
  maxMemory: 256 * 1024 * 1024,
  salt: [16, 64],
  hash: [32, 64],
  lineLength: 1024,
} as const;

export const NEW_SALT_BYTES = 16;
export const NEW_HASH_BYTES = 32;

/** A parsed `$scrypt$...` hash. */
export interface PasswordHash {
  readonly params: ScryptParams;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

export interface PasswordFileEntry {
  readonly user: string;
  readonly line: number;
  /** The hash, or why the line could not be used (the user then fails to log in, at the same cost as anyone). */
  readonly hash: PasswordHash | { readonly malformed: string };
}

export interface ParsedPasswordFile {
  readonly entries: ReadonlyMap<string, PasswordFileEntry>;
  /** One per unusable line, naming file and line. */
  readonly errors: readonly ConfigError[];
}

/** A user name as useradd takes it: letters, digits, `.`, `_`, `-` (not first), a trailing `$`; at most 64. */
const USER_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,62}\$?$/;

export function isValidUserName(user: string): boolean {
  return USER_NAME.test(user);
}

const BASE64 = /^[A-Za-z0-9+/]+$/;

function decodeBase64(text: string, what: string, [min, max]: readonly [number, number]): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 === 1) throw new Error(`${what} is not base64 without padding`);
  const bytes = Math.floor((text.length * 3) / 4);
  if (bytes < min || bytes > max) throw new Error(`${what} is ${bytes} bytes; ${min}–${max} expected`);
  const out = new Uint8Array(bytes);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of text) {
    acc = (acc << 6) | base64Value(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  // The unused low bits of the last character must be zero: one text per value.
  if (acc !== 0) throw new Error(`${what} has stray bits in its last character`);
  return out;
}

function base64Value(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  return ch === '+' ? 62 : 63;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodeBase64NoPad(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** Throws a RangeError unless scrypt parameters are within SCRYPT_LIMITS. */
export function checkScryptParams(p: ScryptParams): void {
  const within = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!within(p.log2N, SCRYPT_LIMITS.log2N)) throw new RangeError(`ln=${p.log2N} is outside ${SCRYPT_LIMITS.log2N.join('–')}`);
  if (!within(p.r, SCRYPT_LIMITS.r)) throw new RangeError(`r=${p.r} is outside ${SCRYPT_LIMITS.r.join('–')}`);
  if (!within(p.p, SCRYPT_LIMITS.p)) throw new RangeError(`p=${p.p} is outside ${SCRYPT_LIMITS.p.join('–')}`);
  if (scryptMemory(p) > SCRYPT_LIMITS.maxMemory) throw new RangeError(`ln=${p.log2N},r=${p.r} needs ${scryptMemory(p) >> 20} MiB; at most ${SCRYPT_LIMITS.maxMemory >> 20} MiB`);
}

/** The memory one scrypt computation with `p` needs (128·N·r bytes). */
export function scryptMemory(p: ScryptParams): number {
  return 128 * 2 ** p.log2N * p.r;
}

/** Parses `$scrypt$ln=15,r=8,p=1$salt$hash`; throws an Error saying what is wrong. */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts.length < 3 || parts[0] !== '') throw new Error('not a $scrypt$params$salt$hash string');
  if (parts[1] !== 'scrypt') throw new Error(`unknown hash algorithm "${parts[1]!.slice(0, 20)}" (only scrypt)`);
  if (parts.length !== 5) throw new Error('not a $scrypt$params$salt$hash string');
  const m = /^ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})$/.exec(parts[2]!);
  if (!m) throw new Error('parameters must be ln=N,r=N,p=N');
  const params = { log2N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  checkScryptParams(params);
  return { params, salt: decodeBase64(parts[3]!, 'salt', SCRYPT_LIMITS.salt), hash: decodeBase64(parts[4]!, 'hash', SCRYPT_LIMITS.hash) };
}

export function formatPasswordHash(h: PasswordHash): string {
  return `$scrypt$ln=${h.params.log2N},r=${h.params.r},p=${h.params.p}$${encodeBase64NoPad(h.salt)}$${encodeBase64NoPad(h.hash)}`;
}

/**
 * Parses a password file. Unusable lines (bad name, bad hash, a second line
 * for one user, too long) are collected in `errors`, each a ConfigError
 * naming `file` and the line; a user with such a line is kept as malformed,
 * so that it fails at the same cost as a wrong password.
 */
export function parsePasswordFile(text: string, file = 'password file'): ParsedPasswordFile {
  const entries = new Map<string, PasswordFileEntry>();
  const errors: ConfigError[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const n = i + 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fail = (why: string, user?: string) => {
      errors.push(new ConfigError(why, { file, line: n }));
      if (user !== undefined && !entries.has(user)) entries.set(user, { user, line: n, hash: { malformed: why } });
    };
    if (line.length > SCRYPT_LIMITS.lineLength) return fail(`line longer than ${SCRYPT_LIMITS.lineLength} characters`);
    const colon = line.indexOf(':');
    if (colon < 0) return fail('expected user:$scrypt$...');
    const user = line.slice(0, colon);
    if (!isValidUserName(user)) return fail(`"${user.slice(0, 64)}" is not a valid user name`);
    if (entries.has(user)) {
      errors.push(new ConfigError(`a second line for ${user} (the first, line ${entries.get(user)!.line}, is used)`, { file, line: n }));
      return;
    }
    try {
      entries.set(user, { user, line: n, hash: parsePasswordHash(line.slice(colon + 1)) });
    } catch (e) {
      fail(`${user}: ${(e as Error).message}`, user);
    }
  });
  return { entries, errors };
}

/**
 * The file's text with `user`'s line set to `hash` (replacing the old line in
 * place, or appended at the end); every other line is kept as it was.
 */
export function setPasswordLine(text: string, user: string, hash: string): string {
  if (!isValidUserName(user)) throw new RangeError(`"${user}" is not a valid user name`);
  parsePasswordHash(hash);
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${user}:`));
  if (at >= 0) lines[at] = `${user}:${hash}`;
  else lines.push(`${user}:${hash}`);
  return lines.join('\n') + '\n';
}

/** The file's text without `user`'s line(s), or null when it has none. */
export function deletePasswordLine(text: string, user: string): string | null {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const kept = lines.filter((l) => !l.startsWith(`${user}:`));
  if (kept.length === lines.length) return null;
  return kept.length === 0 ? '' : kept.join('\n') + '\n';
}
