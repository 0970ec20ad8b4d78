// Building a KRL, as `ssh-keygen -k [-u] [-s ca.pub] -f krl spec...` does:
// the text it reads (one revocation a line) and the list it writes.
//
//   serial: N | serial: A-B   certificates by serial, under the -s CA
//   id: key id                certificates by key id, under the -s CA
//   key: <public key line>    the key itself (a certificate: its plain key)
//   sha1: <public key line>   the SHA-1 hash of the key's blob
//   sha256: <public key line> the SHA-256 hash of the key's blob
//   hash: SHA256:<base64>     a SHA-256 fingerprint as ssh-keygen -l prints it
//   <public key line>         a plain key, or a certificate by its serial
//                             (by its key id when the serial is 0) under its CA
//
// Prefixes are case-insensitive; `#` starts a comment anywhere on a line, as
// in ssh-keygen. `-s none` (caKey null) makes serial and id lines apply to
// certificates from any CA.
import { createHash } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { checkPublicKey, parseOpenSshPublicKeyLine } from './blob.js';
import { CertificateError, isCertificateType, parseCertificate } from './certificate.js';
import { KrlError, MAX_KRL_BITMAP_BYTES, type Krl, type KrlCertificateRule, type KrlSection } from './krl.js';

/** One revocation; `caKey` null means certificates from any CA. */
export type KrlRevocation =
  | { readonly kind: 'serials'; readonly caKey: Uint8Array | null; readonly min: bigint; readonly max: bigint }
  | { readonly kind: 'key-id'; readonly caKey: Uint8Array | null; readonly keyId: string }
  /** A plain public key blob. */
  | { readonly kind: 'key'; readonly blob: Uint8Array }
  | { readonly kind: 'sha1' | 'sha256'; readonly hash: Uint8Array };

export interface KrlSpecOptions {
  /**
   * The CA for `serial:` and `id:` lines (ssh-keygen's `-s`); null for
   * `-s none`, any CA. Left out, such lines are an error, as in ssh-keygen.
   */
  readonly caKey?: Uint8Array | null;
  /** The file name used in error messages. */
  readonly source?: string;
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const SK_KEY_TYPES: ReadonlySet<string> = new Set(['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com']);

/** A number as C's strtoull reads it with base 0: `0x` hex, leading-zero octal, or decimal. */
function parseSerial(text: string): bigint | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^0[0-7]*$/.test(text)) return BigInt('0o' + (text.slice(1) || '0'));
  if (/^[1-9][0-9]*$/.test(text)) return BigInt(text);
  return null;
}

/** A key line's plain blob, and the certificate when it is one. */
function readKeyLine(text: string): { plain: Uint8Array; certificate: ReturnType<typeof parseCertificate> | null } {
  const line = parseOpenSshPublicKeyLine(text);
  if (isCertificateType(line.type)) {
    const certificate = parseCertificate(line.blob);
    return { plain: certificate.publicKey, certificate };
  }
  if (!SK_KEY_TYPES.has(line.type)) checkPublicKey(line.blob);
  return { plain: line.blob, certificate: null };
}

function sha(algorithm: 'sha1' | 'sha256', blob: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(blob).digest());
}

/** The value after a case-insensitive `prefix:`, blanks skipped; null when the line has another prefix. */
function after(line: string, prefix: string): string | null {
  if (line.length < prefix.length || line.slice(0, prefix.length).toLowerCase() !== prefix) return null;
  return line.slice(prefix.length).replace(/^[ \t]+/, '');
}

function parseLine(line: string, caKey: Uint8Array | null | undefined, fail: (message: string, cause?: unknown) => never): KrlRevocation {
  const needCa = (what: string): Uint8Array | null => {
    if (caKey === undefined) fail(`revoking certificates by ${what} requires a CA key`);
    return caKey;
  };
  let value = after(line, 'serial:');
  if (value !== null) {
    const ca = needCa('serial number');
    const dash = value.indexOf('-');
    const min = parseSerial(dash < 0 ? value : value.slice(0, dash));
    const max = dash < 0 ? min : parseSerial(value.slice(dash + 1));
    if (min === null || max === null) fail(`invalid serial "${value.slice(0, 80)}"`);
    if (min > UINT64_MAX || max > UINT64_MAX) fail('serial out of range');
    if (dash >= 0 && max <= min) fail(`invalid serial range ${min}:${max}`);
    if (min === 0n) fail('serial 0 cannot be revoked (it means "no serial")');
    return { kind: 'serials', caKey: ca, min, max };
  }
  value = after(line, 'id:');
  if (value !== null) return { kind: 'key-id', caKey: needCa('key ID'), keyId: value };
  value = after(line, 'hash:');
  if (value !== null) {
    const b64 = after(value, 'sha256:');
    if (b64 === null) fail('unsupported hash algorithm');
    if (!/^[A-Za-z0-9+/]{43}=?$/.test(b64)) fail('hash is not a SHA256 fingerprint');
    return { kind: 'sha256', hash: new Uint8Array(Buffer.from(b64, 'base64')) };
  }
  let kind: 'key' | 'sha1' | 'sha256' | 'line' = 'line';
  for (const prefix of ['key', 'sha1', 'sha256'] as const) {
    const v = after(line, `${prefix}:`);
    if (v !== null) {
      kind = prefix;
      value = v;
      break;
    }
  }
  let key;
  try {
    key = readKeyLine(value ?? line);
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof CertificateError) fail(`invalid key: ${err.message}`, err);
    throw err;
  }
  if (kind === 'sha1' || kind === 'sha256') return { kind, hash: sha(kind, key.plain) };
  if (kind === 'key' || key.certificate === null) return { kind: 'key', blob: key.plain };
  const cert = key.certificate;
  return cert.serial === 0n
    ? { kind: 'key-id', caKey: cert.signatureKey, keyId: cert.keyId }
    : { kind: 'serials', caKey: cert.signatureKey, min: cert.serial, max: cert.serial };
}

/**
 * Parses ssh-keygen -k's revocation text (see the top of this file). A bad
 * line is a KrlError with problem `spec` and its 1-based `line`.
 */
export function parseKrlSpec(text: string, options: KrlSpecOptions = {}): KrlRevocation[] {
  const source = options.source ?? '(revocation list)';
  const out: KrlRevocation[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
    if (line === '') continue;
    const lineNumber = i + 1;
    const fail = (message: string, cause?: unknown): never => {
      throw new KrlError(`${source}:${lineNumber}: ${message}`, 'spec', { line: lineNumber, cause });
    };
    out.push(parseLine(line, options.caKey, fail));
  }
  return out;
}

export interface BuildKrlOptions {
  /** An existing KRL to add to (ssh-keygen -u); its signature sections are dropped. */
  readonly base?: Krl;
  /** krl_version (ssh-keygen -z); default the base's, else 0. */
  readonly version?: bigint;
  readonly comment?: string;
  /** Seconds since the epoch; default the base's date, else 0 (pass the current time). */
  readonly generatedDate?: bigint;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Serials a bitmap can cover: MAX_KRL_BITMAP_BYTES of bits. */
const BITMAP_SPAN = BigInt(8 * MAX_KRL_BITMAP_BYTES);
/** How many merged ranges one bitmap is tried over, which bounds the work per range. */
const BITMAP_LOOKAHEAD = 256;

/** Bytes a range costs written on its own: 8 in the serial list, or a 21-byte range subsection. */
function plainCost(range: readonly [bigint, bigint]): number {
  return range[0] === range[1] ? 8 : 21;
}

/** A bitmap subsection for ranges spanning less than BITMAP_SPAN serials from the first one's start. */
function bitmapRule(ranges: readonly (readonly [bigint, bigint])[]): KrlCertificateRule {
  const offset = ranges[0]![0];
  const bits = Number(ranges[ranges.length - 1]![1] - offset) + 1;
  const bitmap = new Uint8Array(Math.ceil(bits / 8));
  for (const [min, max] of ranges) {
    for (let n = Number(min - offset); n <= Number(max - offset); n++) bitmap[bitmap.length - 1 - (n >> 3)]! |= 1 << (n & 7);
  }
  return { type: 'serial-bitmap', offset, bitmap };
}

/**
 * Serial ranges sorted and merged where they overlap or touch, then written
 * the compact way: runs of nearby serials as a bitmap when that is smaller
 * (17 bytes plus one bit a serial spanned), single serials in one list, the
 * rest as ranges.
 */
function serialRules(ranges: [bigint, bigint][]): KrlCertificateRule[] {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [min, max] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && min <= last[1] + 1n) {
      if (max > last[1]) last[1] = max;
    } else merged.push([min, max]);
  }
  const singles: bigint[] = [];
  const rules: KrlCertificateRule[] = [];
  for (let i = 0; i < merged.length; ) {
    const start = merged[i]![0];
    let cost = 0;
    let last = i;
    for (let j = i; j < merged.length && j < i + BITMAP_LOOKAHEAD; j++) {
      const span = merged[j]![1] - start + 1n;
      if (span > BITMAP_SPAN) break;
      cost += plainCost(merged[j]!);
      if (j > i && 17 + Math.ceil(Number(span) / 8) < cost) last = j;
    }
    if (last > i) {
      rules.push(bitmapRule(merged.slice(i, last + 1)));
      i = last + 1;
      continue;
    }
    const [min, max] = merged[i]!;
    if (min === max) singles.push(min);
    else rules.push({ type: 'serial-range', min, max });
    i++;
  }
  if (singles.length > 0) rules.unshift({ type: 'serial-list', serials: BigUint64Array.from(singles) });
  return rules;
}

interface CaGroup {
  caKey: Uint8Array | null;
  ranges: [bigint, bigint][];
  keyIds: Set<string>;
}

/** New blobs (not already in `have`), sorted as PROTOCOL.krl asks for hashes. */
function newBlobs(blobs: Uint8Array[], have: Set<string>): Uint8Array[] {
  const seen = new Set(have);
  const out: Uint8Array[] = [];
  for (const b of blobs) {
    const id = hex(b);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(b);
    }
  }
  return out.sort(compareBytes);
}

/**
 * A KRL holding `revocations`, added to `options.base` if given (as
 * ssh-keygen -k, or -k -u). Certificate rules for a CA the base already has a
 * section for are added to that section. Write it with encodeKrl.
 */
export function buildKrl(revocations: readonly KrlRevocation[], options: BuildKrlOptions = {}): Krl {
  const base = options.base;
  const groups = new Map<string, CaGroup>();
  const keys: Uint8Array[] = [];
  const hashes = { sha1: [] as Uint8Array[], sha256: [] as Uint8Array[] };
  const groupFor = (caKey: Uint8Array | null): CaGroup => {
    const id = caKey === null ? '' : hex(caKey);
    let g = groups.get(id);
    if (g === undefined) {
      g = { caKey, ranges: [], keyIds: new Set() };
      groups.set(id, g);
    }
    return g;
  };
  for (const r of revocations) {
    switch (r.kind) {
      case 'key':
        keys.push(r.blob);
        break;
      case 'sha1':
      case 'sha256':
        if (r.hash.length !== (r.kind === 'sha1' ? 20 : 32)) throw new RangeError(`a ${r.kind} hash of ${r.hash.length} bytes`);
        hashes[r.kind].push(r.hash);
        break;
      case 'key-id':
        groupFor(r.caKey).keyIds.add(r.keyId);
        break;
      case 'serials':
        if (r.min === 0n || r.min > r.max || r.max > UINT64_MAX) throw new RangeError(`cannot revoke serials ${r.min}-${r.max}`);
        groupFor(r.caKey).ranges.push([r.min, r.max]);
        break;
    }
  }

  const sections: KrlSection[] = (base?.sections ?? []).filter((s) => s.type !== 'signature');
  const have = { 'explicit-keys': new Set<string>(), sha1: new Set<string>(), sha256: new Set<string>() };
  for (const s of sections) {
    if (s.type === 'explicit-keys') for (const k of s.keys) have['explicit-keys'].add(hex(k));
    if (s.type === 'sha1' || s.type === 'sha256') for (const h of s.hashes) have[s.type].add(hex(h));
  }
  for (const [id, g] of groups) {
    const rules = serialRules(g.ranges);
    if (g.keyIds.size > 0) rules.push({ type: 'key-ids', keyIds: [...g.keyIds].sort() });
    const at = sections.findIndex((s) => s.type === 'certificates' && (s.caKey === null ? '' : hex(s.caKey)) === id);
    const existing = sections[at];
    if (existing !== undefined && existing.type === 'certificates') sections[at] = { ...existing, rules: [...existing.rules, ...rules] };
    else sections.push({ type: 'certificates', caKey: g.caKey, reserved: new Uint8Array(0), rules });
  }
  const addKeys = newBlobs(keys, have['explicit-keys']);
  if (addKeys.length > 0) sections.push({ type: 'explicit-keys', keys: addKeys });
  for (const type of ['sha1', 'sha256'] as const) {
    const add = newBlobs(hashes[type], have[type]);
    if (add.length > 0) sections.push({ type, hashes: add });
  }
  return {
    version: options.version ?? base?.version ?? 0n,
    generatedDate: options.generatedDate ?? base?.generatedDate ?? 0n,
    flags: base?.flags ?? 0n,
    reserved: base?.reserved ?? new Uint8Array(0),
    comment: options.comment ?? base?.comment ?? '',
    sections,
  };
}
