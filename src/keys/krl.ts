// OpenSSH key revocation lists (openssh-portable PROTOCOL.krl), the binary
// files behind sshd's `RevokedKeys` and `ssh-keygen -k/-Q`: the format, read
// and written. A KRL is a header then sections:
//
//   "SSHKRL\n\0" || uint32 format version (1) || uint64 krl_version ||
//   uint64 generated_date || uint64 flags || string reserved || string comment
//   then, repeated: byte section type || string section data
//
// except the signature section, whose body is two strings (key, signature).
// Sections are kept in file order and as written (a serial bitmap stays a
// bitmap), so a file read and written again comes out the same, and nothing
// here expands a compact encoding: a 2 KiB bitmap or one range can stand for
// up to 2^64 serials, and membership is tested arithmetically (krl-check.ts).
// Building a KRL from ssh-keygen -k's text is in krl-spec.ts.
import { DisconnectReason, ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { blobKeyType, checkPublicKey } from './blob.js';

/**
 * Why a KRL was refused: `malformed` (bad magic, lengths, values),
 * `unsupported` (another format version, a critical extension, a CA key type
 * Nacre does not know), `too-large` (over MAX_KRL_BYTES), `spec` (a line of
 * ssh-keygen -k text; `line` says which), `bad-signature` (a signature
 * section does not verify or does not cover the whole file).
 */
export type KrlProblem = 'malformed' | 'unsupported' | 'too-large' | 'spec' | 'bad-signature';

export class KrlError extends ProtocolError {
  readonly problem: KrlProblem;
  /** For `spec` errors: the 1-based line of the text. */
  readonly line: number | undefined;
  constructor(message: string, problem: KrlProblem, options?: { cause?: unknown; line?: number }) {
    super(message, DisconnectReason.BY_APPLICATION, options);
    this.problem = problem;
    this.line = options?.line;
  }
}

export const KRL_MAGIC = new Uint8Array([0x53, 0x53, 0x48, 0x4b, 0x52, 0x4c, 0x0a, 0x00]);
export const KRL_FORMAT_VERSION = 1;
/** As OpenSSH's SSHBUF_SIZE_MAX: no KRL it can load is larger. */
export const MAX_KRL_BYTES = 128 * 1024 * 1024;
/** A serial bitmap is an mpint OpenSSH reads with SSHBUF_MAX_BIGNUM: 2048 bytes, so 16384 serials. */
export const MAX_KRL_BITMAP_BYTES = 2048;

/** Section type bytes. */
export const KRL_SECTION = {
  CERTIFICATES: 1,
  EXPLICIT_KEY: 2,
  FINGERPRINT_SHA1: 3,
  SIGNATURE: 4,
  FINGERPRINT_SHA256: 5,
  EXTENSION: 255,
} as const;
/** Subsection type bytes inside a certificates section. */
export const KRL_CERT_SECTION = {
  SERIAL_LIST: 0x20,
  SERIAL_RANGE: 0x21,
  SERIAL_BITMAP: 0x22,
  KEY_ID: 0x23,
  EXTENSION: 0x39,
} as const;

/** An extension (section or certificate subsection); only non-critical ones are ever accepted. */
export interface KrlExtension {
  readonly name: string;
  readonly critical: boolean;
  readonly data: Uint8Array;
}

export type KrlCertificateRule =
  /** Each serial revoked. */
  | { readonly type: 'serial-list'; readonly serials: BigUint64Array }
  /** Every serial from `min` to `max`, both included. */
  | { readonly type: 'serial-range'; readonly min: bigint; readonly max: bigint }
  /**
   * Serial `offset + N` is revoked when bit N of `bitmap` is set; `bitmap` is
   * big-endian (bit 0 is the low bit of its last byte), without leading zeros.
   */
  | { readonly type: 'serial-bitmap'; readonly offset: bigint; readonly bitmap: Uint8Array }
  | { readonly type: 'key-ids'; readonly keyIds: readonly string[] }
  | ({ readonly type: 'extension' } & KrlExtension);

export type KrlSection =
  /** Certificates signed by `caKey` (null: by any CA) revoked by serial or key id. */
  | { readonly type: 'certificates'; readonly caKey: Uint8Array | null; readonly reserved: Uint8Array; readonly rules: readonly KrlCertificateRule[] }
  /** Plain public key blobs. */
  | { readonly type: 'explicit-keys'; readonly keys: readonly Uint8Array[] }
  /** SHA-1 (20 bytes) or SHA-256 (32 bytes) hashes of plain public key blobs. */
  | { readonly type: 'sha1' | 'sha256'; readonly hashes: readonly Uint8Array[] }
  | ({ readonly type: 'extension' } & KrlExtension)
  /**
   * A signature by `key` over `signedData` (the file from its magic through
   * this section's key). OpenSSH no longer checks or writes these; see
   * verifyKrlSignatures.
   */
  | { readonly type: 'signature'; readonly key: Uint8Array; readonly signature: Uint8Array; readonly signedData: Uint8Array };

export interface Krl {
  /** krl_version: grows each time the list is changed (ssh-keygen -z). */
  readonly version: bigint;
  /** Seconds since the epoch. */
  readonly generatedDate: bigint;
  /** None are defined. */
  readonly flags: bigint;
  readonly reserved: Uint8Array;
  readonly comment: string;
  readonly sections: readonly KrlSection[];
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const SHA_BYTES = { sha1: 20, sha256: 32 } as const;
const SK_KEY_TYPES: ReadonlySet<string> = new Set(['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com']);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** A C string as OpenSSH reads one: no NUL inside. Key ids must also be UTF-8, as certificate key ids are here. */
function cString(r: Reader, field: string, strict: boolean): string {
  const b = r.string(field);
  if (b.includes(0)) throw new KrlError(`KRL ${field} holds a NUL byte`, 'malformed');
  if (!strict) return lenientUtf8.decode(b);
  try {
    return utf8.decode(b);
  } catch {
    throw new KrlError(`KRL ${field} is not UTF-8`, 'malformed');
  }
}

function readExtension(r: Reader, what: string): KrlExtension {
  const name = cString(r, `${what} name`, false);
  const critical = r.byte(`${what} critical flag`) !== 0;
  const data = r.string(`${what} contents`).slice();
  r.end();
  // no extension is defined, so every critical one is unknown
  if (critical) throw new KrlError(`KRL has the unsupported critical ${what} ${JSON.stringify(name.slice(0, 80))}`, 'unsupported');
  return { name, critical, data };
}

/** A CA key must be a public key OpenSSH would load; compared by its bytes afterwards. */
function checkCaKey(blob: Uint8Array): void {
  const type = blobKeyType(blob);
  if (SK_KEY_TYPES.has(type)) return;
  try {
    checkPublicKey(blob);
  } catch (err) {
    const known = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'].includes(type);
    throw new KrlError(`KRL CA key: ${(err as Error).message}`, known ? 'malformed' : 'unsupported', { cause: err });
  }
}

function readBitmap(r: Reader): KrlCertificateRule {
  const offset = r.uint64('bitmap offset');
  // an mpint as OpenSSH reads it: non-negative, leading zeros allowed and dropped
  const raw = r.string('serial bitmap', MAX_KRL_BITMAP_BYTES + 1);
  if (raw.length > 0 && (raw[0]! & 0x80) !== 0) throw new KrlError('KRL serial bitmap is negative', 'malformed');
  let start = 0;
  while (start < raw.length && raw[start] === 0) start++;
  const bitmap = raw.slice(start);
  if (bitmap.length > MAX_KRL_BITMAP_BYTES) throw new KrlError(`KRL serial bitmap is over ${MAX_KRL_BITMAP_BYTES} bytes`, 'malformed');
  r.end();
  if (bitmap.length > 0) {
    const top = bitmap[0]!;
    const bits = (bitmap.length - 1) * 8 + (32 - Math.clz32(top));
    if (offset + BigInt(bits - 1) > UINT64_MAX) throw new KrlError('KRL serial bitmap runs past the largest serial', 'malformed');
    // serial 0 means "no serial" and cannot be revoked
    if (offset === 0n && (bitmap[bitmap.length - 1]! & 1) !== 0) throw new KrlError('KRL serial bitmap revokes serial 0', 'malformed');
  }
  return { type: 'serial-bitmap', offset, bitmap };
}

function readCertificateRule(type: number, r: Reader): KrlCertificateRule {
  switch (type) {
    case KRL_CERT_SECTION.SERIAL_LIST: {
      if (r.remaining % 8 !== 0) throw new KrlError('KRL serial list is not a whole number of serials', 'malformed');
      const serials = new BigUint64Array(r.remaining / 8);
      for (let i = 0; i < serials.length; i++) {
        const s = r.uint64('serial');
        if (s === 0n) throw new KrlError('KRL serial list revokes serial 0', 'malformed');
        serials[i] = s;
      }
      return { type: 'serial-list', serials };
    }
    case KRL_CERT_SECTION.SERIAL_RANGE: {
      const min = r.uint64('serial range start');
      const max = r.uint64('serial range end');
      r.end();
      if (min === 0n || min > max) throw new KrlError(`KRL serial range ${min}-${max} is empty or starts at 0`, 'malformed');
      return { type: 'serial-range', min, max };
    }
    case KRL_CERT_SECTION.SERIAL_BITMAP:
      return readBitmap(r);
    case KRL_CERT_SECTION.KEY_ID: {
      const keyIds: string[] = [];
      while (r.remaining > 0) keyIds.push(cString(r, 'key id', true));
      return { type: 'key-ids', keyIds };
    }
    case KRL_CERT_SECTION.EXTENSION:
      return { type: 'extension', ...readExtension(r, 'certificate extension') };
    default:
      throw new KrlError(`KRL has the unknown certificate subsection type 0x${type.toString(16)}`, 'malformed');
  }
}

function readCertificates(body: Uint8Array): KrlSection {
  const r = new Reader(body, 0, 'KRL certificates section');
  const ca = r.string('CA key');
  const reserved = r.string('reserved').slice();
  let caKey: Uint8Array | null = null;
  if (ca.length > 0) {
    checkCaKey(ca);
    caKey = ca.slice();
  }
  const rules: KrlCertificateRule[] = [];
  while (r.remaining > 0) {
    const type = r.byte('subsection type');
    const sub = r.string('subsection');
    rules.push(readCertificateRule(type, new Reader(sub, 0, 'KRL certificate subsection')));
  }
  return { type: 'certificates', caKey, reserved, rules };
}

function readBlobs(body: Uint8Array, what: string, size: number | null): Uint8Array[] {
  const r = new Reader(body, 0, `KRL ${what} section`);
  const out: Uint8Array[] = [];
  while (r.remaining > 0) {
    const b = r.string(what);
    if (size !== null && b.length !== size) throw new KrlError(`KRL ${what} is ${b.length} bytes, not ${size}`, 'malformed');
    out.push(b.slice());
  }
  return out;
}

function startsWithMagic(bytes: Uint8Array): boolean {
  return bytes.length >= KRL_MAGIC.length && KRL_MAGIC.every((b, i) => bytes[i] === b);
}

/** Whether the bytes start as a binary KRL does (ssh-keygen and sshd tell KRLs from key lists this way). */
export function isKrl(bytes: Uint8Array): boolean {
  return startsWithMagic(bytes);
}

/**
 * Parses a binary KRL. Any problem is a KrlError: `too-large`, `malformed`
 * or `unsupported`, the last for a format version other than 1 and for
 * critical extensions, which OpenSSH refuses too. Work and memory are
 * proportional to the file's size.
 */
export function parseKrl(bytes: Uint8Array): Krl {
  if (bytes.length > MAX_KRL_BYTES) throw new KrlError(`KRL of ${bytes.length} bytes is larger than ${MAX_KRL_BYTES}`, 'too-large');
  if (!startsWithMagic(bytes)) throw new KrlError('not a KRL (no "SSHKRL" magic)', 'malformed');
  try {
    const r = new Reader(bytes, KRL_MAGIC.length, 'KRL');
    const format = r.uint32('format version');
    if (format !== KRL_FORMAT_VERSION) throw new KrlError(`KRL format version ${format} is not ${KRL_FORMAT_VERSION}`, 'unsupported');
    const version = r.uint64('krl_version');
    const generatedDate = r.uint64('generated_date');
    const flags = r.uint64('flags');
    const reserved = r.string('reserved').slice();
    const comment = cString(r, 'comment', false);
    const sections: KrlSection[] = [];
    while (r.remaining > 0) {
      const type = r.byte('section type');
      if (type === KRL_SECTION.SIGNATURE) {
        const key = r.string('signature key').slice();
        const signedData = bytes.slice(0, r.position);
        const signature = r.string('signature').slice();
        sections.push({ type: 'signature', key, signature, signedData });
        continue;
      }
      const body = r.string('section');
      switch (type) {
        case KRL_SECTION.CERTIFICATES:
          sections.push(readCertificates(body));
          break;
        case KRL_SECTION.EXPLICIT_KEY:
          sections.push({ type: 'explicit-keys', keys: readBlobs(body, 'key', null) });
          break;
        case KRL_SECTION.FINGERPRINT_SHA1:
          sections.push({ type: 'sha1', hashes: readBlobs(body, 'SHA-1 hash', SHA_BYTES.sha1) });
          break;
        case KRL_SECTION.FINGERPRINT_SHA256:
          sections.push({ type: 'sha256', hashes: readBlobs(body, 'SHA-256 hash', SHA_BYTES.sha256) });
          break;
        case KRL_SECTION.EXTENSION:
          sections.push({ type: 'extension', ...readExtension(new Reader(body, 0, 'KRL extension section'), 'extension') });
          break;
        default:
          throw new KrlError(`KRL has the unknown section type ${type}`, 'malformed');
      }
    }
    return { version, generatedDate, flags, reserved, comment, sections };
  } catch (err) {
    if (err instanceof KrlError) throw err;
    if (err instanceof ProtocolError) throw new KrlError(`malformed KRL: ${err.message}`, 'malformed', { cause: err });
    throw err;
  }
}

function checkUint64(what: string, v: bigint): bigint {
  if (v < 0n || v > UINT64_MAX) throw new RangeError(`KRL ${what} ${v} is outside the uint64 range`);
  return v;
}

/** An mpint's bytes for a non-negative magnitude (a 0x00 in front when the top bit is set). */
function bitmapMpint(bitmap: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bitmap.length && bitmap[start] === 0) start++;
  const m = bitmap.subarray(start);
  if (m.length > MAX_KRL_BITMAP_BYTES) throw new RangeError(`KRL serial bitmap is over ${MAX_KRL_BITMAP_BYTES} bytes`);
  if (m.length > 0 && (m[0]! & 0x80) !== 0) {
    const out = new Uint8Array(m.length + 1);
    out.set(m, 1);
    return out;
  }
  return m;
}

function encodeRule(rule: KrlCertificateRule): [number, Uint8Array] {
  const w = new Writer(64);
  switch (rule.type) {
    case 'serial-list':
      for (const s of rule.serials) {
        if (s === 0n) throw new RangeError('a KRL cannot revoke serial 0');
        w.uint64(s);
      }
      return [KRL_CERT_SECTION.SERIAL_LIST, w.finish()];
    case 'serial-range':
      if (rule.min === 0n || rule.min > rule.max) throw new RangeError(`KRL serial range ${rule.min}-${rule.max} is empty or starts at 0`);
      w.uint64(checkUint64('serial', rule.min)).uint64(checkUint64('serial', rule.max));
      return [KRL_CERT_SECTION.SERIAL_RANGE, w.finish()];
    case 'serial-bitmap':
      w.uint64(checkUint64('bitmap offset', rule.offset)).string(bitmapMpint(rule.bitmap));
      return [KRL_CERT_SECTION.SERIAL_BITMAP, w.finish()];
    case 'key-ids':
      for (const id of rule.keyIds) {
        if (id.includes('\0')) throw new RangeError('a KRL key id cannot hold a NUL');
        w.string(id);
      }
      return [KRL_CERT_SECTION.KEY_ID, w.finish()];
    case 'extension':
      w.string(rule.name).byte(rule.critical ? 1 : 0).string(rule.data);
      return [KRL_CERT_SECTION.EXTENSION, w.finish()];
  }
}

function encodeSection(section: KrlSection, out: Writer): void {
  const body = new Writer(256);
  switch (section.type) {
    case 'certificates':
      body.string(section.caKey ?? new Uint8Array(0)).string(section.reserved);
      for (const rule of section.rules) {
        const [type, data] = encodeRule(rule);
        body.byte(type).string(data);
      }
      out.byte(KRL_SECTION.CERTIFICATES);
      break;
    case 'explicit-keys':
      for (const k of section.keys) body.string(k);
      out.byte(KRL_SECTION.EXPLICIT_KEY);
      break;
    case 'sha1':
    case 'sha256':
      for (const h of section.hashes) {
        if (h.length !== SHA_BYTES[section.type]) throw new RangeError(`a KRL ${section.type} hash is ${SHA_BYTES[section.type]} bytes, not ${h.length}`);
        body.string(h);
      }
      out.byte(section.type === 'sha1' ? KRL_SECTION.FINGERPRINT_SHA1 : KRL_SECTION.FINGERPRINT_SHA256);
      break;
    case 'extension':
      body.string(section.name).byte(section.critical ? 1 : 0).string(section.data);
      out.byte(KRL_SECTION.EXTENSION);
      break;
    case 'signature':
      // a signature covers the bytes before it, which re-encoding may change
      throw new RangeError('cannot write a KRL signature section; drop signatures before writing');
  }
  out.string(body.finish());
}

/**
 * The binary form of a KRL, its sections in the order given. Values a KRL
 * cannot hold (serial 0, an empty range, a hash of the wrong size, a
 * signature section) are a RangeError.
 */
export function encodeKrl(krl: Krl): Uint8Array {
  const w = new Writer(1024)
    .raw(KRL_MAGIC)
    .uint32(KRL_FORMAT_VERSION)
    .uint64(checkUint64('version', krl.version))
    .uint64(checkUint64('generated date', krl.generatedDate))
    .uint64(checkUint64('flags', krl.flags))
    .string(krl.reserved);
  if (krl.comment.includes('\0')) throw new RangeError('a KRL comment cannot hold a NUL');
  w.string(krl.comment);
  for (const section of krl.sections) encodeSection(section, w);
  return w.finish().slice();
}
