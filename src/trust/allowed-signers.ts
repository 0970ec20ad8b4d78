// ssh-keygen's allowed_signers files (ssh-keygen(1), ALLOWED SIGNERS), which
// say whose SSHSIG signatures are trusted:
//   principals [options] keytype base64-key [comment]
// The principals field is a comma-separated pattern list (`*`, `?`, `!`
// negation), compared case-sensitively. Options, case-insensitive by name:
// `cert-authority`, `namespaces="pattern-list"`, `valid-after="time"`,
// `valid-before="time"` (YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z], local time
// unless Z). The parsing follows openssh-portable's sshsig.c; a line it would
// refuse is reported with its number and never matches, as there.
import { checkPublicKey } from '../keys/blob.js';
import { SshSignatureError, verifySshSignature, type SshSigKeyVerifier, type SshSigMessage, type SshSignature, type VerifiedSshSignature } from '../keys/sshsig.js';
import { constantTimeEqual } from '../wire/bytes.js';
import { KNOWN_KEY_TYPES, MAX_TRUST_LINE, parseExpiryTime, parseTrustFile, readKeyFields, type ParsedTrustFile, type TrustFileKey } from './authorized-keys.js';
import { matchPattern } from './known-hosts.js';

export interface AllowedSignerEntry extends TrustFileKey {
  /** The principals field as written (after unquoting): a comma-separated pattern list. */
  readonly principals: string;
  /** The `cert-authority` option: the key is a CA whose certificates may sign. */
  readonly certAuthority: boolean;
  /** The `namespaces` option's pattern list, when present. */
  readonly namespaces: string | undefined;
  /** `valid-after`: the key is good from this moment on. */
  readonly validAfter: Date | undefined;
  /** `valid-before`: the key is good up to and including this moment. */
  readonly validBefore: Date | undefined;
}

export type ParsedAllowedSigners = ParsedTrustFile<AllowedSignerEntry>;

const BLANKS = /^[ \t\r\n]+/;
/** Key types this build parses itself; others (sk-, certificates) are only compared as bytes. */
const CHECKED_KEY_TYPES: ReadonlySet<string> = new Set(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

/**
 * Matches `s` against a comma-separated pattern list case-sensitively, as
 * ssh-keygen compares principals and namespaces: 1 when a pattern matches,
 * -1 when a negated (`!`) one does (which wins), 0 when none does.
 */
export function matchSignerPatternList(s: string, list: string): -1 | 0 | 1 {
  let result: 0 | 1 = 0;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    if (!matchPattern(s, negated ? raw.slice(1) : raw)) continue;
    if (negated) return -1;
    result = 1;
  }
  return result;
}

/** The principals token, unquoted as ssh-keygen's strdelimw does, and what follows it. */
function splitPrincipals(line: string): { principals: string; rest: string } | string {
  const m = /[ \t\r\n"]/.exec(line);
  if (!m) return 'no key after the principals';
  const i = m.index;
  if (line[i] !== '"') return { principals: line.slice(0, i), rest: line.slice(i).replace(BLANKS, '') };
  const close = line.indexOf('"', i + 1);
  if (close < 0) return 'a double quote in the principals is never closed';
  return { principals: line.slice(0, i) + line.slice(i + 1, close), rest: line.slice(close + 1).replace(BLANKS, '') };
}

/** Where the option field ends: the first blank outside double quotes (`\"` escapes one), or -1 when a quote stays open. */
function optionFieldEnd(s: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) return i;
  }
  return quoted ? -1 : s.length;
}

interface SignerOptions {
  certAuthority: boolean;
  namespaces: string | undefined;
  validAfter: Date | undefined;
  validBefore: Date | undefined;
}

function startsWithName(field: string, i: number, name: string): boolean {
  return field.slice(i, i + name.length).toLowerCase() === name;
}

/** Reads a double-quoted value at `i`; returns it and the index after the closing quote, or a reason. */
function dequote(field: string, i: number): [string, number] | string {
  if (field[i] !== '"') return 'missing start quote';
  let v = '';
  for (let j = i + 1; j < field.length; j++) {
    const c = field[j]!;
    if (c === '"') return [v, j + 1];
    if (c === '\\' && field[j + 1] === '"') j++;
    v += field[j];
  }
  return 'missing end quote';
}

function parseTime(value: string, name: string): Date | string {
  const t = parseExpiryTime(value);
  // sshsig.c refuses a time of 0 (its "not set") and times before 1970.
  if (!t || t.getTime() <= 0) return `invalid "${name}" time`;
  return t;
}

/** Parses the option field as sshsigopt_parse does; returns the options or a reason. */
export function parseAllowedSignerOptions(field: string): SignerOptions | string {
  const out: SignerOptions = { certAuthority: false, namespaces: undefined, validAfter: undefined, validBefore: undefined };
  let i = 0;
  while (i < field.length) {
    if (startsWithName(field, i, 'cert-authority')) {
      out.certAuthority = true;
      i += 'cert-authority'.length;
    } else {
      const name = ['namespaces', 'valid-after', 'valid-before'].find((n) => startsWithName(field, i, n + '='));
      if (name) {
        const v = dequote(field, i + name.length + 1);
        if (typeof v === 'string') return `${name}: ${v}`;
        i = v[1];
        if (name === 'namespaces') {
          if (out.namespaces !== undefined) return 'multiple "namespaces" clauses';
          out.namespaces = v[0];
        } else {
          const key = name === 'valid-after' ? 'validAfter' : 'validBefore';
          if (out[key] !== undefined) return `multiple "${name}" clauses`;
          const t = parseTime(v[0], name);
          if (typeof t === 'string') return t;
          out[key] = t;
        }
      }
    }
    if (i === field.length) break;
    if (field[i] !== ',') return 'unknown key option';
    if (++i === field.length) return 'unexpected end-of-options';
  }
  if (out.validAfter && out.validBefore && out.validBefore.getTime() <= out.validAfter.getTime()) return '"valid-before" time is before "valid-after"';
  return out;
}

function looksLikeKey(rest: string): boolean {
  const [first = '', second = ''] = rest.split(/[ \t]+/, 2);
  if (KNOWN_KEY_TYPES.has(first)) return true;
  // a key type this table does not know yet: a bare name followed by a blob
  return !/[=,"]/.test(first) && first.toLowerCase() !== 'cert-authority' && /^AAAA[A-Za-z0-9+/]*={0,2}$/.test(second);
}

function parseLine(text: string, line: number, source: string | undefined): AllowedSignerEntry | string {
  if (text.length > MAX_TRUST_LINE) return `line is longer than ${MAX_TRUST_LINE} characters`;
  const split = splitPrincipals(text);
  if (typeof split === 'string') return split;
  let rest = split.rest;
  let options: SignerOptions | string = { certAuthority: false, namespaces: undefined, validAfter: undefined, validBefore: undefined };
  if (!looksLikeKey(rest)) {
    const end = optionFieldEnd(rest);
    if (end < 0) return 'invalid options: a double quote is never closed';
    options = parseAllowedSignerOptions(rest.slice(0, end));
    if (typeof options === 'string') return `bad options: ${options}`;
    rest = rest.slice(end).replace(BLANKS, '');
    if (rest === '') return 'missing key';
  }
  const key = readKeyFields(rest);
  if (typeof key === 'string') return `invalid key: ${key}`;
  if (CHECKED_KEY_TYPES.has(key.keyType)) {
    try {
      checkPublicKey(key.blob);
    } catch (e) {
      return `invalid key: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return { principals: split.principals, ...options, ...key, line, source };
}

/**
 * Parses an allowed_signers file. Lines ssh-keygen would refuse are left out
 * of `entries` and reported with their line number in `problems`; nothing
 * throws. (ssh-keygen skips a line whose principals do not match before
 * parsing the rest; reporting every bad line is stricter only in what is said.)
 */
export function parseAllowedSigners(text: string, source?: string): ParsedAllowedSigners {
  return parseTrustFile(text, source, parseLine);
}

/**
 * What the trust check needs to know about certificates. Until the
 * certificate module provides one, `cert-authority` lines match nothing.
 */
export interface SignerCertificateSupport {
  /** The CA key blob that signed `blob`, or undefined when `blob` is not a certificate. */
  signatureKey(blob: Uint8Array): Uint8Array | undefined;
  /**
   * Why the certificate `blob` may not sign at `time` for `principal`
   * (validity window, principal listed, a user certificate), or undefined
   * when it may. `principal` undefined means "for any principal".
   */
  refusal(blob: Uint8Array, time: Date, principal: string | undefined): string | undefined;
  /** The principals the certificate names. */
  principals(blob: Uint8Array): readonly string[];
}

export interface AllowedSignerQuery {
  /** The key that made the signature (the SSHSIG publickey field). */
  readonly publicKey: Uint8Array;
  /** `-I identity`: must match the entry's principals; undefined for find-principals. */
  readonly principal?: string | undefined;
  /** The signature namespace, checked against `namespaces=`; undefined skips the check (find-principals). */
  readonly namespace?: string | undefined;
  /** The verification time (ssh-keygen's `-O verify-time=`); default now. */
  readonly time?: Date;
  readonly certificates?: SignerCertificateSupport;
}

/** A matching entry, with why it matched. */
export interface AllowedSignerMatch {
  readonly entry: AllowedSignerEntry;
  /** For find-principals: the entry's principals, or the certificate's that match them. */
  readonly principals: readonly string[];
}

/** The principals as ssh-keygen lists them: split at commas, up to the first empty one. */
function listedPrincipals(field: string): string[] {
  const parts = field.split(',');
  const empty = parts.indexOf('');
  return empty < 0 ? parts : parts.slice(0, empty);
}

function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, b);
}

/** Why this entry does not accept the query, or the match. */
function checkEntry(entry: AllowedSignerEntry, q: AllowedSignerQuery, time: Date): AllowedSignerMatch | string {
  if (q.principal !== undefined && matchSignerPatternList(q.principal, entry.principals) !== 1) return 'principal not listed';
  let principals = listedPrincipals(entry.principals);
  if (!entry.certAuthority) {
    if (!sameBlob(entry.blob, q.publicKey)) return 'different key';
  } else {
    const ca = q.certificates?.signatureKey(q.publicKey);
    if (!ca || !sameBlob(ca, entry.blob)) return 'not a certificate by this CA';
    const certs = q.certificates!;
    if (q.principal !== undefined) {
      const why = certs.refusal(q.publicKey, time, q.principal);
      if (why) return `certificate not authorized: ${why}`;
    } else {
      if (certs.refusal(q.publicKey, time, undefined)) return 'certificate not valid';
      const named = certs.principals(q.publicKey);
      principals = principals.flatMap((pattern) => named.filter((p) => matchPattern(p, pattern)));
      if (principals.length === 0) return 'no valid principals found';
    }
  }
  if (entry.namespaces !== undefined && q.namespace !== undefined && matchSignerPatternList(q.namespace, entry.namespaces) !== 1) {
    return `key is not permitted for use in signature namespace "${q.namespace}"`;
  }
  const seconds = Math.floor(time.getTime() / 1000);
  if (entry.validAfter && seconds < Math.floor(entry.validAfter.getTime() / 1000)) return 'key is not yet valid';
  if (entry.validBefore && seconds > Math.floor(entry.validBefore.getTime() / 1000)) return 'key has expired';
  return { entry, principals };
}

/**
 * The first entry that accepts the signing key for `principal`, `namespace`
 * and `time`, as `ssh-keygen -Y verify -I principal -n namespace` looks it
 * up; undefined when none does.
 */
export function findAllowedSigner(entries: readonly AllowedSignerEntry[], query: AllowedSignerQuery): AllowedSignerMatch | undefined {
  const time = query.time ?? new Date();
  for (const e of entries) {
    const r = checkEntry(e, query, time);
    if (typeof r !== 'string') return r;
  }
  return undefined;
}

/**
 * The principals of the first entry that accepts the signing key at `time`
 * (namespaces are not checked), as `ssh-keygen -Y find-principals` prints
 * them, one per line; empty when none does.
 */
export function findSignerPrincipals(
  entries: readonly AllowedSignerEntry[],
  publicKey: Uint8Array,
  opts: { time?: Date; certificates?: SignerCertificateSupport } = {},
): readonly string[] {
  return findAllowedSigner(entries, { publicKey, time: opts.time, certificates: opts.certificates })?.principals ?? [];
}

/** The principals fields of every entry whose patterns match `principal` (`ssh-keygen -Y match-principals`). */
export function matchSignerPrincipals(entries: readonly AllowedSignerEntry[], principal: string): string[] {
  return entries.filter((e) => matchSignerPatternList(principal, e.principals) === 1).map((e) => e.principals);
}


export interface VerifyAllowedSignatureOptions {
  /** `-n`: the namespace the signature must be made in. */
  readonly namespace: string;
  /** `-I`: the identity that must be listed for the key. */
  readonly principal: string;
  /** `-O verify-time=`; default now. */
  readonly time?: Date;
  readonly verifier?: SshSigKeyVerifier;
  readonly certificates?: SignerCertificateSupport;
}

export interface AllowedSignatureResult extends VerifiedSshSignature, AllowedSignerMatch {}

/**
 * `ssh-keygen -Y verify -f allowed_signers -I principal -n namespace`: the
 * signature must verify (see verifySshSignature) and an entry must accept its
 * key for that principal, namespace and time. Throws an SshSignatureError
 * (`signer-not-allowed` for the second).
 */
export function verifyAllowedSshSignature(
  entries: readonly AllowedSignerEntry[],
  sig: SshSignature,
  message: SshSigMessage,
  opts: VerifyAllowedSignatureOptions,
): AllowedSignatureResult {
  const verified = verifySshSignature(sig, message, opts.namespace, { verifier: opts.verifier });
  const match = findAllowedSigner(entries, { publicKey: sig.publicKey, principal: opts.principal, namespace: opts.namespace, time: opts.time, certificates: opts.certificates });
  if (!match) throw new SshSignatureError(`no allowed signer accepts this ${verified.keyType} key for "${opts.principal}" in namespace "${opts.namespace}"`, 'signer-not-allowed');
  return { ...verified, ...match };
}
