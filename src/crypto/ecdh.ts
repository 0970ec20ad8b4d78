// Elliptic-curve Diffie-Hellman over node:crypto: X25519 (RFC 7748) and the NIST
// prime curves (RFC 5656). Private keys are built from caller-supplied random
// bytes so that seeded tests are reproducible. Every failure, including an
// OpenSSL throw, surfaces as KeyExchangeError.
import { createECDH, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { KeyExchangeError } from '../errors.js';
import { b64url, fromB64url } from './base64url.js';
import type { RandomSource } from '../algorithms/types.js';
import { bigintToBytes, bytesToBigint, seq, tlv } from './dh.js';

export const X25519_KEY_BYTES = 32;

// DER header for a bare X25519 private key (RFC 8410): the key bytes follow directly.
const X25519_PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);

function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix, 0);
  out.set(key, prefix.length);
  return out;
}

function take(random: RandomSource, n: number): Uint8Array {
  const b = random(n);
  if (b.length !== n) throw new KeyExchangeError('random source returned the wrong number of bytes');
  return b;
}

export interface EcdhKeyPair {
  /** Our public value as sent on the wire (32 bytes for X25519, SEC1 uncompressed point for NIST curves). */
  readonly publicKey: Uint8Array;
  /** Raw shared secret (X25519 output, or the x coordinate padded to the field size). */
  computeShared(peerPublic: Uint8Array): Uint8Array;
}

export function x25519KeyPair(random: RandomSource): EcdhKeyPair {
  const scalar = take(random, X25519_KEY_BYTES);
  let privateKey: KeyObject;
  let publicKey: Uint8Array;
  try {
    privateKey = x25519PrivateKey(scalar);
    publicKey = fixedKey(createPublicKey(privateKey).export({ format: 'jwk' }).x, 'our X25519 public key');
  } catch (err) {
    throw new KeyExchangeError('cannot create an X25519 key', undefined, { cause: err });
  }
  return {
    publicKey,
    computeShared(peerPublic: Uint8Array): Uint8Array {
      if (peerPublic.length !== X25519_KEY_BYTES) {
        throw new KeyExchangeError(`X25519 public key is ${peerPublic.length} bytes, expected ${X25519_KEY_BYTES}`);
      }
      let shared: Buffer;
      try {
        const peer = x25519PublicKey(peerPublic);
        shared = diffieHellman({ privateKey, publicKey: peer });
      } catch (err) {
        // OpenSSL refuses to derive an all-zero result (a small-order peer point)
        throw new KeyExchangeError('X25519 key agreement failed (small-order or invalid peer key)', undefined, { cause: err });
      }
      let acc = 0;
      for (const c of shared) acc |= c;
      if (acc === 0) throw new KeyExchangeError('X25519 shared secret is all zero');
      return Uint8Array.from(shared);
    },
  };
}

// Raw X25519 keys go in through JWK, which OpenSSL imports directly from the
// key bytes; the DER forms pass through OpenSSL 3's generic decoders, about ten
// times slower (0.36 ms for a PKCS#8 private key against 0.04 ms, measured with
// Node 20 / OpenSSL 3.0), and a key exchange used three such conversions. Node
// reads only `d` of a private OKP key (`x` must merely be a string), so the
// DER forms stay as a fallback should a later Node insist on a matching `x`.
function x25519PrivateKey(scalar: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(scalar), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: withPrefix(X25519_PKCS8_PREFIX, scalar), format: 'der', type: 'pkcs8' });
  }
}

function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(raw) }, format: 'jwk' });
}

function fixedKey(s: string | undefined, what: string): Uint8Array {
  const b = fromB64url(s, what);
  if (b.length !== X25519_KEY_BYTES) throw new KeyExchangeError(`${what} is ${b.length} bytes, expected ${X25519_KEY_BYTES}`);
  return b;
}

export type NistCurve = 'nistp256' | 'nistp384' | 'nistp521';

interface CurveInfo {
  readonly openssl: string;
  /** DER of the curve's OBJECT IDENTIFIER. */
  readonly oid: Uint8Array;
  readonly fieldBytes: number;
  readonly order: bigint;
}

export const NIST_CURVES: Readonly<Record<NistCurve, CurveInfo>> = {
  nistp256: {
    openssl: 'prime256v1',
    oid: Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
    fieldBytes: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  nistp384: {
    openssl: 'secp384r1',
    oid: Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
    fieldBytes: 48,
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  nistp521: {
    openssl: 'secp521r1',
    oid: Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23),
    fieldBytes: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

/** Uncompressed SEC1 point length for a curve: 0x04 || X || Y. */
export function nistPointLength(curve: NistCurve): number {
  return 1 + 2 * NIST_CURVES[curve].fieldBytes;
}

// id-ecPublicKey, 1.2.840.10045.2.1
const EC_PUBLIC_KEY_OID = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);

// KeyObjects come from DER rather than JWK or the ECDH class: OpenSSL checks the
// point on SPKI import just the same, and these paths cost far less on P-521.
function ecSpki(info: CurveInfo, point: Uint8Array): Buffer {
  return seq(seq(EC_PUBLIC_KEY_OID, info.oid), tlv(0x03, Buffer.concat([Uint8Array.of(0), point])));
}

function ecSec1(info: CurveInfo, d: Uint8Array, point: Uint8Array): Buffer {
  return seq(
    tlv(0x02, Uint8Array.of(1)),
    tlv(0x04, d),
    tlv(0xa0, info.oid),
    tlv(0xa1, tlv(0x03, Buffer.concat([Uint8Array.of(0), point]))),
  );
}

export function nistKeyPair(curve: NistCurve, random: RandomSource): EcdhKeyPair {
  const info = NIST_CURVES[curve];
  // 64 extra bits make the bias of the reduction negligible (FIPS 186-5 A.2.1)
  const wide = bytesToBigint(take(random, info.fieldBytes + 8));
  const d = bigintToBytes((wide % (info.order - 1n)) + 1n, info.fieldBytes);
  let publicKey: Uint8Array;
  let privateKey: KeyObject;
  try {
    const ecdh = createECDH(info.openssl);
    ecdh.setPrivateKey(d);
    publicKey = Uint8Array.from(ecdh.getPublicKey());
    privateKey = createPrivateKey({ key: ecSec1(info, d, publicKey), format: 'der', type: 'sec1' });
  } catch (err) {
    throw new KeyExchangeError(`cannot create a ${curve} key`, undefined, { cause: err });
  }
  const pointLength = nistPointLength(curve);
  return {
    publicKey,
    computeShared(peerPublic: Uint8Array): Uint8Array {
      // Only uncompressed points, as OpenSSH sends and accepts.
      if (peerPublic.length !== pointLength || peerPublic[0] !== 0x04) {
        throw new KeyExchangeError(`${curve} public key is not an uncompressed point of ${pointLength} bytes`);
      }
      let shared: Buffer;
      try {
        // OpenSSL refuses points off the curve on import; the cofactor is 1, so that suffices
        const peer = createPublicKey({ key: ecSpki(info, peerPublic), format: 'der', type: 'spki' });
        shared = diffieHellman({ privateKey, publicKey: peer });
      } catch (err) {
        throw new KeyExchangeError(`${curve} public key is not a valid curve point`, undefined, { cause: err });
      }
      return Uint8Array.from(shared);
    },
  };
}
