// Is a key or certificate revoked by a KRL? The same rules, in the same
// order, as OpenSSH's ssh_krl_check_key: the key's SHA-1 and SHA-256 hashes
// and its plain blob; for a certificate, its serial and key id under its CA
// and under the wildcard CA; then the certificate's CA key as a plain key.
// A parsed Krl is indexed once (sorted arrays, hash sets) and the index kept
// beside it, so each check is a few binary searches whatever the KRL's size.
import { createHash } from 'node:crypto';
import { blobKeyType } from './blob.js';
import { isCertificateType, parseCertificate } from './certificate.js';
import { verifySignature } from './signature.js';
import { KrlError, type Krl } from './krl.js';

export type KrlRule = 'explicit-key' | 'sha1' | 'sha256' | 'serial-list' | 'serial-range' | 'serial-bitmap' | 'key-id';

/** Why a key is revoked. */
export interface KrlMatch {
  readonly rule: KrlRule;
  /**
   * `key`: the key itself (for a certificate, the key it certifies);
   * `certificate`: the certificate by serial or key id; `ca`: the CA key
   * that signed the certificate.
   */
  readonly subject: 'key' | 'certificate' | 'ca';
  /** For `certificate` matches: the CA key of the section that matched, null for a section that applies to every CA. */
  readonly caKey?: Uint8Array | null;
}

/** A check made from one KRL: the reason a key or certificate blob is revoked, or null. */
export type RevocationCheck = (keyOrCertificateBlob: Uint8Array) => KrlMatch | null;

/** Serials revoked under one CA, merged from every section naming it. */
interface CaIndex {
  serials: BigUint64Array;
  rangeMins: BigUint64Array;
  /** rangeMaxUpTo[i]: the largest max among ranges 0..i (sorted by min). */
  rangeMaxUpTo: BigUint64Array;
  bitmapOffsets: BigUint64Array;
  bitmaps: Uint8Array[];
  keyIds: Set<string>;
}

interface KrlIndex {
  keys: Set<string>;
  sha1: Set<string>;
  sha256: Set<string>;
  /** By hex of the CA blob. */
  cas: Map<string, CaIndex>;
  wildcard: CaIndex | undefined;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const byBigint = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

interface CaCollector {
  serials: BigUint64Array[];
  ranges: [bigint, bigint][];
  bitmaps: [bigint, Uint8Array][];
  keyIds: Set<string>;
}

function finishCa(c: CaCollector): CaIndex {
  let total = 0;
  for (const s of c.serials) total += s.length;
  const serials = new BigUint64Array(total);
  let at = 0;
  for (const s of c.serials) {
    serials.set(s, at);
    at += s.length;
  }
  serials.sort();
  c.ranges.sort((a, b) => byBigint(a[0], b[0]));
  const rangeMins = BigUint64Array.from(c.ranges.map((r) => r[0]));
  const rangeMaxUpTo = new BigUint64Array(c.ranges.length);
  let top = 0n;
  c.ranges.forEach((r, i) => {
    if (r[1] > top) top = r[1];
    rangeMaxUpTo[i] = top;
  });
  c.bitmaps.sort((a, b) => byBigint(a[0], b[0]));
  return {
    serials,
    rangeMins,
    rangeMaxUpTo,
    bitmapOffsets: BigUint64Array.from(c.bitmaps.map((b) => b[0])),
    bitmaps: c.bitmaps.map((b) => b[1]),
    keyIds: c.keyIds,
  };
}

function buildIndex(krl: Krl): KrlIndex {
  const keys = new Set<string>();
  const sha1 = new Set<string>();
  const sha256 = new Set<string>();
  const collectors = new Map<string, CaCollector>();
  for (const section of krl.sections) {
    switch (section.type) {
      case 'explicit-keys':
        for (const k of section.keys) keys.add(hex(k));
        break;
      case 'sha1':
        for (const h of section.hashes) sha1.add(hex(h));
        break;
      case 'sha256':
        for (const h of section.hashes) sha256.add(hex(h));
        break;
      case 'certificates': {
        const id = section.caKey === null ? '' : hex(section.caKey);
        let c = collectors.get(id);
        if (c === undefined) {
          c = { serials: [], ranges: [], bitmaps: [], keyIds: new Set() };
          collectors.set(id, c);
        }
        for (const rule of section.rules) {
          if (rule.type === 'serial-list') c.serials.push(rule.serials);
          else if (rule.type === 'serial-range') c.ranges.push([rule.min, rule.max]);
          else if (rule.type === 'serial-bitmap') c.bitmaps.push([rule.offset, rule.bitmap]);
          else if (rule.type === 'key-ids') for (const k of rule.keyIds) c.keyIds.add(k);
        }
        break;
      }
      default:
        break;
    }
  }
  const cas = new Map<string, CaIndex>();
  let wildcard: CaIndex | undefined;
  for (const [id, c] of collectors) {
    if (id === '') wildcard = finishCa(c);
    else cas.set(id, finishCa(c));
  }
  return { keys, sha1, sha256, cas, wildcard };
}

/** The number of entries of a sorted array that are <= v. */
function countAtMost(sorted: BigUint64Array, v: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const BITMAP_SPAN = 2048n * 8n;

function serialRule(ca: CaIndex, serial: bigint): KrlRule | null {
  const n = countAtMost(ca.serials, serial);
  if (n > 0 && ca.serials[n - 1] === serial) return 'serial-list';
  const r = countAtMost(ca.rangeMins, serial);
  if (r > 0 && ca.rangeMaxUpTo[r - 1]! >= serial) return 'serial-range';
  // only bitmaps starting less than one bitmap's span below the serial can hold it
  for (let i = countAtMost(ca.bitmapOffsets, serial) - 1; i >= 0; i--) {
    const offset = ca.bitmapOffsets[i]!;
    if (serial - offset >= BITMAP_SPAN) break;
    const bitmap = ca.bitmaps[i]!;
    const bit = Number(serial - offset);
    const byteAt = bitmap.length - 1 - (bit >> 3);
    if (byteAt >= 0 && ((bitmap[byteAt]! >> (bit & 7)) & 1) === 1) return 'serial-bitmap';
  }
  return null;
}

function certificateRule(ca: CaIndex, serial: bigint, keyId: string): KrlRule | null {
  if (ca.keyIds.has(keyId)) return 'key-id';
  // serial 0 is what a CA gives when it gives none: never revoked by serial
  return serial === 0n ? null : serialRule(ca, serial);
}

function digestHex(algorithm: 'sha1' | 'sha256', blob: Uint8Array): string {
  return createHash(algorithm).update(blob).digest('hex');
}

function plainKeyRule(index: KrlIndex, plainBlob: Uint8Array): KrlRule | null {
  if (index.sha1.size > 0 && index.sha1.has(digestHex('sha1', plainBlob))) return 'sha1';
  if (index.sha256.size > 0 && index.sha256.has(digestHex('sha256', plainBlob))) return 'sha256';
  if (index.keys.has(hex(plainBlob))) return 'explicit-key';
  return null;
}

function check(index: KrlIndex, blob: Uint8Array): KrlMatch | null {
  if (!isCertificateType(blobKeyType(blob))) {
    const rule = plainKeyRule(index, blob);
    return rule === null ? null : { rule, subject: 'key' };
  }
  const cert = parseCertificate(blob);
  const keyRule = plainKeyRule(index, cert.publicKey);
  if (keyRule !== null) return { rule: keyRule, subject: 'key' };
  const byCa = index.cas.get(hex(cert.signatureKey));
  const caRule = byCa === undefined ? null : certificateRule(byCa, cert.serial, cert.keyId);
  if (caRule !== null) return { rule: caRule, subject: 'certificate', caKey: cert.signatureKey };
  const anyRule = index.wildcard === undefined ? null : certificateRule(index.wildcard, cert.serial, cert.keyId);
  if (anyRule !== null) return { rule: anyRule, subject: 'certificate', caKey: null };
  const revokedCa = plainKeyRule(index, cert.signatureKey);
  return revokedCa === null ? null : { rule: revokedCa, subject: 'ca' };
}

const indexes = new WeakMap<Krl, KrlIndex>();

function indexOf(krl: Krl): KrlIndex {
  let index = indexes.get(krl);
  if (index === undefined) {
    index = buildIndex(krl);
    indexes.set(krl, index);
  }
  return index;
}

/**
 * Why `keyOrCertificateBlob` (a plain public key blob or a certificate blob)
 * is revoked by `krl`, or null when it is not; what sshd's `RevokedKeys` and
 * `ssh-keygen -Q` decide. The KRL is indexed on first use (the index is kept
 * for that Krl object, which must not be changed afterwards). A certificate
 * blob that does not parse is a CertificateError; a blob whose type cannot
 * be read is a ProtocolError.
 */
export function isRevoked(krl: Krl, keyOrCertificateBlob: Uint8Array): KrlMatch | null {
  return check(indexOf(krl), keyOrCertificateBlob);
}

/**
 * A check bound to one KRL, for a server's or client's key policy (a server
 * refuses a user key or certificate it returns a match for; a client, a host
 * key). Indexes the KRL now rather than at the first check.
 */
export function revokedKeys(krl: Krl): RevocationCheck {
  const index = indexOf(krl);
  return (blob) => check(index, blob);
}

/** Which signature algorithms verifyKrlSignatures accepts by default: not SHA-1 `ssh-rsa`. */
export const DEFAULT_KRL_SIGNATURE_ALGORITHMS: readonly string[] = Object.freeze([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
]);

/**
 * Checks a KRL's signature sections, which OpenSSH parses but no longer
 * checks (PROTOCOL.krl recommends an SSHSIG signature of the file instead):
 * every one must verify and they must all come last, so that the signed
 * bytes are the whole list. Returns the signing key blobs, none for an
 * unsigned KRL; whether to trust them is the caller's choice. Anything
 * wrong is a KrlError (`bad-signature`).
 */
export function verifyKrlSignatures(krl: Krl, algorithms: readonly string[] = DEFAULT_KRL_SIGNATURE_ALGORITHMS): Uint8Array[] {
  const signers: Uint8Array[] = [];
  let signing = false;
  for (const section of krl.sections) {
    if (section.type !== 'signature') {
      if (signing) throw new KrlError('a KRL section follows a signature, so the signature does not cover it', 'bad-signature');
      continue;
    }
    signing = true;
    let algorithm: string;
    try {
      algorithm = blobKeyType(section.signature);
    } catch (err) {
      throw new KrlError('a KRL signature is malformed', 'bad-signature', { cause: err });
    }
    if (!algorithms.includes(algorithm)) throw new KrlError(`a KRL signature uses ${algorithm.slice(0, 80)}, which is not accepted`, 'bad-signature');
    if (!verifySignature(section.key, algorithm, section.signedData, section.signature)) {
      throw new KrlError('a KRL signature does not verify', 'bad-signature');
    }
    signers.push(section.key);
  }
  return signers;
}
