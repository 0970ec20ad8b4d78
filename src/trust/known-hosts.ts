// OpenSSH known_hosts files (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT):
//   [@cert-authority|@revoked] patterns keytype base64-key [comment]
// Patterns are comma-separated, take `*` and `?` and `!` negation, and name
// non-22 ports as `[host]:port`. A hashed entry `|1|salt|hash` holds one name,
// HMAC-SHA1(key = salt, name as written), so the file does not list hosts.
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../wire/bytes.js';
import { formatOpenSshPublicKeyLine, blobKeyType } from '../keys/blob.js';
import { MAX_TRUST_LINE, parseTrustFile, readKeyFields, type ParsedTrustFile, type TrustFileKey } from './authorized-keys.js';
import { globMatch } from '../wire/glob.js';

export type KnownHostMarker = 'cert-authority' | 'revoked';

export interface HashedHostName {
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

export interface KnownHostEntry extends TrustFileKey {
  readonly marker: KnownHostMarker | null;
  /** The host field split at commas; for a hashed entry, the one `|1|...` string. */
  readonly patterns: readonly string[];
  readonly hashed: HashedHostName | undefined;
}

export type ParsedKnownHosts = ParsedTrustFile<KnownHostEntry>;

const HASH_MAGIC = '|1|';
const SHA1_LENGTH = 20;

// ------------------------------------------------------------------ patterns

/** True when `s` matches the glob `pattern` (`*` any run, `?` one character), as OpenSSH's match_pattern. */
export const matchPattern = globMatch;

/**
 * Matches `s` against a comma-separated pattern list, case-insensitively:
 * 1 when a positive pattern matches, -1 when a negated (`!`) one does (which
 * wins over any positive match), 0 when none does.
 */
export function matchPatternList(s: string, list: string | readonly string[]): -1 | 0 | 1 {
  const subject = s.toLowerCase();
  let result: 0 | 1 = 0;
  for (const raw of typeof list === 'string' ? list.split(',') : list) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!matchPattern(subject, pattern)) continue;
    if (negated) return -1;
    result = 1;
  }
  return result;
}

// ------------------------------------------------------------------ names and hashing

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

function hmacSha1(salt: Uint8Array, name: string): Uint8Array {
  return new Uint8Array(createHmac('sha1', salt).update(name, 'utf8').digest());
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, hashing `name` exactly as given. */
export function hashHostName(name: string, salt: Uint8Array = randomBytes(SHA1_LENGTH)): string {
  if (salt.length !== SHA1_LENGTH) throw new RangeError(`known_hosts salts are ${SHA1_LENGTH} bytes, not ${salt.length}`);
  const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  return `${HASH_MAGIC}${b64(salt)}|${b64(hmacSha1(salt, name))}`;
}

/** Splits `|1|salt|hash`; undefined when the field is not a well-formed hashed name. */
export function parseHashedHostName(field: string): HashedHostName | undefined {
  const m = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/.exec(field);
  if (!m) return undefined;
  const salt = new Uint8Array(Buffer.from(m[1]!, 'base64'));
  const hash = new Uint8Array(Buffer.from(m[2]!, 'base64'));
  if (salt.length !== SHA1_LENGTH || hash.length !== SHA1_LENGTH) return undefined;
  return { salt, hash };
}

/** True when the entry names `name` (already in knownHostName form). */
export function knownHostEntryMatches(entry: KnownHostEntry, name: string): boolean {
  const lower = name.toLowerCase();
  if (entry.hashed) return constantTimeEqual(hmacSha1(entry.hashed.salt, lower), entry.hashed.hash);
  return matchPatternList(lower, entry.patterns) === 1;
}

// ------------------------------------------------------------------ parsing

function parseLine(text: string, line: number, source: string | undefined): KnownHostEntry | string {
  if (text.length > MAX_TRUST_LINE) return `line is longer than ${MAX_TRUST_LINE} characters`;
  let rest = text;
  let marker: KnownHostMarker | null = null;
  if (rest.startsWith('@')) {
    const m = /^@(\S*)[ \t]+/.exec(rest);
    const name = m?.[1] ?? rest.split(/[ \t]/, 1)[0]!.slice(1);
    if (name !== 'cert-authority' && name !== 'revoked') return `unknown marker "@${name}"`;
    if (!m) return `nothing after the @${name} marker`;
    marker = name;
    rest = rest.slice(m[0].length);
  }
  const hostMatch = /^(\S+)[ \t]+/.exec(rest);
  if (!hostMatch) return 'no key after the host field';
  const field = hostMatch[1]!;
  rest = rest.slice(hostMatch[0].length);
  let hashed: HashedHostName | undefined;
  let patterns: string[];
  if (field.startsWith('|')) {
    hashed = parseHashedHostName(field);
    if (!hashed) return 'malformed hashed host name (expected |1|salt|hash with 20-byte salt and hash)';
    patterns = [field];
  } else {
    patterns = field.split(',');
    if (patterns.some((p) => p === '' || p === '!')) return 'empty host pattern';
  }
  const key = readKeyFields(rest);
  if (typeof key === 'string') return key;
  return { marker, patterns, hashed, ...key, line, source };
}

/** Parses a known_hosts file; malformed lines are reported in `problems` and skipped, never thrown. */
export function parseKnownHosts(text: string, source?: string): ParsedKnownHosts {
  return parseTrustFile(text, source, parseLine);
}

// ------------------------------------------------------------------ checking

export type KnownHostStatus = 'match' | 'mismatch' | 'revoked' | 'unknown';

export interface KnownHostCheck {
  readonly status: KnownHostStatus;
  /** The entry that decided: the matching, revoking, or (for mismatch) first conflicting line. */
  readonly entry?: KnownHostEntry;
  /** Keys this host is known by that are not the presented one. */
  readonly otherKeys?: readonly KnownHostEntry[];
}

export interface CheckKnownHostOptions {
  /**
   * OpenSSH reports a key of a type it has no entry for as new (listing the
   * other keys) rather than changed. The default here is stricter: any other
   * known key makes it a mismatch, so an attacker cannot pass by offering a
   * key type the user never saw. Set true for OpenSSH's behaviour.
   */
  readonly sameTypeOnly?: boolean;
}

function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, b);
}

/**
 * Looks `host` (on `port`) up with the key it presented. `revoked` wins over
 * everything; then `match`; then `mismatch` when the host is known by other
 * keys; otherwise `unknown`. `@cert-authority` lines do not vouch for plain keys.
 */
export function checkKnownHost(entries: readonly KnownHostEntry[], host: string, port: number, blob: Uint8Array, opts: CheckKnownHostOptions = {}): KnownHostCheck {
  const name = knownHostName(host, port);
  const forHost = entries.filter((e) => knownHostEntryMatches(e, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && sameBlob(e.blob, blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const match = plain.find((e) => sameBlob(e.blob, blob));
  const others = plain.filter((e) => !sameBlob(e.blob, blob));
  if (match) return others.length > 0 ? { status: 'match', entry: match, otherKeys: others } : { status: 'match', entry: match };
  let type: string | undefined;
  try {
    type = blobKeyType(blob);
  } catch {
    type = undefined;
  }
  const conflicting = opts.sameTypeOnly ? others.filter((e) => e.keyType === type) : others;
  if (conflicting.length > 0) return { status: 'mismatch', entry: conflicting[0]!, otherKeys: others };
  return others.length > 0 ? { status: 'unknown', otherKeys: others } : { status: 'unknown' };
}

/** The key types known_hosts holds for `host` (plain entries only), e.g. `ecdsa-sha2-nistp256`. */
export function knownHostKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): Set<string> {
  const name = knownHostName(host, port);
  return new Set(entries.filter((e) => e.marker === null && knownHostEntryMatches(e, name)).map((e) => e.keyType));
}

/** The `@cert-authority` entries that vouch for host certificates of `host`. */
export function knownHostCertAuthorities(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostName(host, port);
  return entries.filter((e) => e.marker === 'cert-authority' && knownHostEntryMatches(e, name));
}

export interface FormatKnownHostOptions {
  /** Write `|1|salt|hash` instead of the name (as `ssh-keygen -H` / HashKnownHosts do). */
  readonly hash?: boolean;
  /** Fixed salt for a hashed name; random by default. */
  readonly salt?: Uint8Array;
  readonly comment?: string;
  readonly marker?: KnownHostMarker;
}

/** One known_hosts line (no newline) for `host` on `port`. */
export function formatKnownHostLine(host: string, port: number, blob: Uint8Array, opts: FormatKnownHostOptions = {}): string {
  const name = knownHostName(host, port);
  if (/[\s,]/.test(name) || name === '') throw new RangeError(`cannot write host name ${JSON.stringify(host)} into known_hosts`);
  const field = opts.hash ? hashHostName(name, opts.salt) : name;
  const line = `${field} ${formatOpenSshPublicKeyLine(blob, opts.comment ?? '')}`;
  return opts.marker ? `@${opts.marker} ${line}` : line;
}
