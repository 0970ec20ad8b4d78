// SSH public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) to and from
// node:crypto KeyObjects, plus the one-line OpenSSH text form and fingerprints.
// KeyObjects are built through JWK so OpenSSL validates the key on import.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { b64url, fromB64url } from '../crypto/base64url.js';

export type PublicKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

export interface EcdsaCurveInfo {
  /** The curve identifier inside the blob (`nistp256`). */
  readonly id: string;
  readonly jwk: 'P-256' | 'P-384' | 'P-521';
  readonly openssl: string;
  readonly fieldBytes: number;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

export const ECDSA_CURVES: Readonly<Record<string, EcdsaCurveInfo>> = {
  'ecdsa-sha2-nistp256': { id: 'nistp256', jwk: 'P-256', openssl: 'prime256v1', fieldBytes: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { id: 'nistp384', jwk: 'P-384', openssl: 'secp384r1', fieldBytes: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { id: 'nistp521', jwk: 'P-521', openssl: 'secp521r1', fieldBytes: 66, hash: 'sha512' },
};

/** OpenSSH refuses RSA moduli below 1024 bits (SSH_RSA_MINIMUM_MODULUS_SIZE). */
export const RSA_MIN_BITS = 1024;
/** OpenSSH cannot read a larger one (SSHBUF_MAX_BIGNUM); each modulus bit also costs every verification. */
export const RSA_MAX_BITS = 16384;
/**
 * Largest RSA public exponent accepted, in bits. Verifying costs about one
 * modular squaring per exponent bit, so an exponent as long as the modulus
 * makes one check ~200 times dearer than with 65537, work an unauthenticated
 * peer could ask for at will. OpenSSH leaves this to OpenSSL, which limits
 * the exponent to 64 bits only for moduli above 3072 bits; Go's x/crypto/ssh
 * allows 24 bits. 32 bounds the cost at under twice that of 65537 (17 bits)
 * and leaves room above every exponent in common use (3, 17, 65537), so keys
 * Go would refuse but OpenSSH takes still work here.
 */
export const RSA_MAX_EXPONENT_BITS = 32;

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length === n) return b;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

function bitLength(b: Uint8Array): number {
  const m = stripZeros(b);
  return m.length === 0 || m[0] === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0]!));
}

function importPublic(jwk: JsonWebKey, what: string): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new ProtocolError(`${what} is not a valid key`, undefined, { cause: err });
  }
}

/** The key type of a KeyObject, in SSH terms. Throws ProtocolError for types SSH cannot carry here. */
export function sshKeyType(key: KeyObject): PublicKeyType {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return 'ssh-ed25519';
  if (t === 'rsa') return 'ssh-rsa';
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    for (const [name, info] of Object.entries(ECDSA_CURVES)) if (info.openssl === curve) return name as PublicKeyType;
    throw new ProtocolError(`unsupported EC curve ${curve ?? '(unknown)'}`);
  }
  throw new ProtocolError(`unsupported key type ${t ?? '(none)'}`);
}

/** The SSH public key blob of a public or private KeyObject. */
export function encodePublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const type = sshKeyType(pub);
  const jwk = pub.export({ format: 'jwk' });
  const w = new Writer(600).string(type);
  if (type === 'ssh-ed25519') {
    w.string(fromB64url(jwk.x, 'Ed25519 public key'));
  } else if (type === 'ssh-rsa') {
    w.mpintFromBytes(fromB64url(jwk.e, 'RSA exponent')).mpintFromBytes(fromB64url(jwk.n, 'RSA modulus'));
  } else {
    const info = ECDSA_CURVES[type]!;
    const x = leftPad(fromB64url(jwk.x, 'EC x'), info.fieldBytes);
    const y = leftPad(fromB64url(jwk.y, 'EC y'), info.fieldBytes);
    const point = new Uint8Array(1 + 2 * info.fieldBytes);
    point[0] = 0x04;
    point.set(x, 1);
    point.set(y, 1 + info.fieldBytes);
    w.string(info.id).string(point);
  }
  return w.finish().slice();
}

export interface ParsedPublicKey {
  readonly type: PublicKeyType;
  readonly keyObject: KeyObject;
}

/** A blob checked for structure and sane sizes, not yet handed to OpenSSL. */
interface DecodedPublicKey {
  readonly type: PublicKeyType;
  readonly jwk: JsonWebKey;
}

/**
 * Refuses RSA parameters that are malformed or would make verification
 * expensive, from their byte strings alone: nothing here does big-number work.
 */
function checkRsaParameters(e: Uint8Array, n: Uint8Array): void {
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw new ProtocolError(`RSA modulus of ${bits} bits is outside ${RSA_MIN_BITS}..${RSA_MAX_BITS}`);
  const eBits = bitLength(e);
  if (eBits > RSA_MAX_EXPONENT_BITS) throw new ProtocolError(`RSA exponent of ${eBits} bits is longer than ${RSA_MAX_EXPONENT_BITS} bits`);
  if (eBits < 2 || (e[e.length - 1]! & 1) === 0) throw new ProtocolError('RSA exponent is not an odd number of at least 3');
}

function decodeRsa(r: Reader): DecodedPublicKey {
  // Both are read with the modulus's ceiling (the reader compares it with the
  // wire length before slicing); the exponent's own bound is checked after.
  const e = r.mpintBytes('RSA exponent', RSA_MAX_BITS / 8 + 1);
  const n = r.mpintBytes('RSA modulus', RSA_MAX_BITS / 8 + 1);
  r.end();
  checkRsaParameters(e, n);
  return { type: 'ssh-rsa', jwk: { kty: 'RSA', n: b64url(n), e: b64url(e) } };
}

function decodeEcdsa(r: Reader, type: PublicKeyType, info: EcdsaCurveInfo): DecodedPublicKey {
  const id = r.text('curve identifier', 64);
  const q = r.string('EC point', 256);
  r.end();
  if (id !== info.id) throw new ProtocolError(`${type} key names curve ${id}`);
  if (q.length !== 1 + 2 * info.fieldBytes || q[0] !== 0x04) throw new ProtocolError(`${type} key is not an uncompressed point`);
  const x = q.subarray(1, 1 + info.fieldBytes);
  const y = q.subarray(1 + info.fieldBytes);
  return { type, jwk: { kty: 'EC', crv: info.jwk, x: b64url(x), y: b64url(y) } };
}

/** The structural checks of a public key blob, without OpenSSL; malformed or unsupported input is a ProtocolError. */
function decodePublicKey(blob: Uint8Array): DecodedPublicKey {
  const r = new Reader(blob, 0, 'public key');
  const type = r.text('key type', 256);
  if (type === 'ssh-ed25519') {
    const k = r.string('Ed25519 key', 64);
    r.end();
    if (k.length !== 32) throw new ProtocolError(`Ed25519 public key is ${k.length} bytes, expected 32`);
    return { type, jwk: { kty: 'OKP', crv: 'Ed25519', x: b64url(k) } };
  }
  if (type === 'ssh-rsa') return decodeRsa(r);
  const info = ECDSA_CURVES[type];
  if (info) return decodeEcdsa(r, type as PublicKeyType, info);
  throw new ProtocolError(`unsupported public key type ${JSON.stringify(type)}`);
}

/**
 * Checks a public key blob from the wire cheaply (structure, curve, RSA sizes
 * and exponent) and returns its type; a ProtocolError says what is wrong.
 * Whether an EC point is on its curve is left to `parsePublicKey`.
 */
export function checkPublicKey(blob: Uint8Array): PublicKeyType {
  return decodePublicKey(blob).type;
}

/** Parses a public key blob; anything malformed or unsupported is a ProtocolError. */
export function parsePublicKey(blob: Uint8Array): ParsedPublicKey {
  const { type, jwk } = decodePublicKey(blob);
  return { type, keyObject: importPublic(jwk, `${type} public key`) };
}

/** The key type named at the start of a blob, without validating the rest. */
export function blobKeyType(blob: Uint8Array): string {
  return new Reader(blob, 0, 'public key').text('key type', 256);
}

// Fingerprints live in fingerprint.ts; this name stays importable from here.
export { fingerprintSha256 } from './fingerprint.js';

export interface PublicKeyLine {
  readonly type: string;
  readonly blob: Uint8Array;
  readonly comment: string;
}

/** Parses `type base64 [comment]` (authorized_keys options are not handled here). */
export function parseOpenSshPublicKeyLine(line: string): PublicKeyLine {
  // Split rather than one regex with a lazy comment group: that one backtracks
  // quadratically on a long run of blanks.
  if (line.length > 64 * 1024) throw new ProtocolError('public key line is longer than 64 KiB');
  const trimmed = line.trim();
  const fields = trimmed.split(/\s+/, 2);
  const type = fields[0] ?? '';
  const b64 = fields[1] ?? '';
  if (type === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new ProtocolError('public key line is not "type base64 [comment]"');
  // The comment is the rest of the line as written, inner blanks included.
  const comment = trimmed.slice(trimmed.indexOf(b64, type.length) + b64.length).trim();
  const blob = new Uint8Array(Buffer.from(b64, 'base64'));
  let inner: string;
  try {
    inner = blobKeyType(blob);
  } catch {
    throw new ProtocolError('public key line holds a malformed key blob');
  }
  if (inner !== type) throw new ProtocolError(`public key line says ${type} but the key is ${inner}`);
  return { type, blob, comment };
}

export function formatOpenSshPublicKeyLine(blob: Uint8Array, comment = ''): string {
  const type = blobKeyType(blob);
  const b64 = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64');
  return comment ? `${type} ${b64} ${comment}` : `${type} ${b64}`;
}
