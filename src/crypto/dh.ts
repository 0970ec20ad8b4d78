// Finite-field Diffie-Hellman over node:crypto (OpenSSL's modexp is far faster
// than BigInt). The private exponent comes from the caller's random source so a
// seeded connection replays exactly.
//
// Two paths, because of what OpenSSL does behind node's APIs:
// - `createDiffieHellman(p, g)` runs DH_check (primality tests of p and (p-1)/2)
//   unless (p, g) is one of OpenSSL's named groups. For a server-chosen 8192-bit
//   modulus that takes seconds, so it is only used for the fixed groups we ship,
//   and each of those objects is made once and reused.
// - Any other group (a group-exchange server's /etc/ssh/moduli choice) goes
//   through DH KeyObjects imported from DER, which skip DH_check.
import { createDiffieHellman, createPrivateKey, createPublicKey, diffieHellman, type DiffieHellman, type KeyObject } from 'node:crypto';
import { KeyExchangeError } from '../errors.js';
import { derChildren } from '../wire/der.js';
import type { RandomSource } from '../algorithms/types.js';

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

/** Unsigned big-endian bytes; `length` left-pads with zeros. */
export function bigintToBytes(v: bigint, length = 0): Uint8Array {
  if (v < 0n) throw new RangeError('negative value');
  let hex = v === 0n ? '' : v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const raw = Buffer.from(hex, 'hex');
  if (raw.length >= length) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Uint8Array(length);
  out.set(raw, length - raw.length);
  return out;
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Size of the private exponent for a modulus of `primeBits`. OpenSSH never goes
 * below 512 bits; RFC 3526 §8 suggests up to ~540 bits for 6144-bit and ~620 for
 * 8192-bit groups, so the bigger groups get a little more.
 */
export function dhExponentBits(primeBits: number): number {
  const bits = primeBits <= 4096 ? 512 : primeBits <= 6144 ? 576 : 640;
  return Math.min(bits, primeBits - 1);
}

/**
 * RFC 4253 §8: a public value outside [2, p-2] is refused (1 and p-1 leak the
 * secret's parity or fix it). Like OpenSSH's dh_pub_is_valid, so is one with
 * fewer than 4 bits set: with g = 2, a value such as 2^k has a known
 * logarithm, and the shared secret would follow from the other side's public
 * value alone.
 */
export function checkDhPublic(y: bigint, p: bigint, who: string): void {
  if (y < 2n || y > p - 2n) throw new KeyExchangeError(`${who} DH public value is outside [2, p-2]`);
  let bits = 0;
  for (let v = y; v > 0n && bits < 4; v &= v - 1n) bits++;
  if (bits < 4) throw new KeyExchangeError(`${who} DH public value has fewer than 4 bits set`);
}

export interface DhKeyPair {
  /** g^x mod p as a bigint. */
  readonly publicValue: bigint;
  /** (peer)^x mod p, unsigned big-endian without leading zeros; validates the peer value first. */
  computeShared(peer: bigint): Uint8Array;
}

// ------------------------------------------------------------ minimal DER for DH keys (PKCS#3 params)

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}
/** One DER tag-length-value (definite length). Shared with ecdh.ts. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Uint8Array.of(tag), derLength(content.length), content]);
}
function derInteger(magnitude: Uint8Array): Buffer {
  const m = stripZeros(magnitude);
  if (m.length === 0) return tlv(0x02, Uint8Array.of(0));
  return tlv(0x02, m[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), m]) : m);
}
export const seq = (...parts: Uint8Array[]) => tlv(0x30, Buffer.concat(parts));
// dhKeyAgreement, 1.2.840.113549.1.3.1
const DH_OID = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01);

/** The INTEGER inside the BIT STRING of a DH SubjectPublicKeyInfo. */
function spkiPublicValue(spki: Uint8Array): Uint8Array {
  const outer = derChildren(spki)?.[0];
  const bits = outer?.tag === 0x30 ? derChildren(outer.body)?.[1] : undefined;
  // A BIT STRING's first byte counts the unused bits; the INTEGER follows.
  const int = bits?.tag === 0x03 ? derChildren(bits.body.subarray(1))?.[0] : undefined;
  if (int?.tag !== 0x02) throw new KeyExchangeError('unexpected DH public key encoding');
  return int.body;
}

// ------------------------------------------------------------ key pairs

const namedGroupCache = new Map<string, DiffieHellman>();

/** Reused DiffieHellman objects for groups we ship (their DH_check is skipped or paid once). */
function cachedGroup(prime: Uint8Array, generator: bigint): DiffieHellman {
  const id = `${generator}:${Buffer.from(prime).toString('hex')}`;
  let dh = namedGroupCache.get(id);
  if (!dh) {
    dh = createDiffieHellman(prime, bigintToBytes(generator));
    namedGroupCache.set(id, dh);
  }
  return dh;
}

function privateExponent(pBits: number, random: RandomSource): Uint8Array {
  const xBits = dhExponentBits(pBits);
  const xBytes = Math.ceil(xBits / 8);
  const x = Uint8Array.from(random(xBytes));
  if (x.length !== xBytes) throw new KeyExchangeError('random source returned the wrong number of bytes');
  // clear the bits above xBits, then set the top one so the exponent has its full size
  const extra = xBytes * 8 - xBits;
  x[0] = (x[0]! & (0xff >> extra)) | (0x80 >> extra);
  return x;
}

function finishSecret(secret: Uint8Array): Uint8Array {
  const k = stripZeros(secret);
  // K = 0 or 1 would mean a degenerate peer value slipped through
  if (k.length === 0 || (k.length === 1 && k[0] === 1)) throw new KeyExchangeError('DH shared secret is degenerate');
  return Uint8Array.from(k);
}

/**
 * An ephemeral key pair. `trusted` marks (p, g) as one of our own fixed groups,
 * which may use the cached fast path; any group that came from a peer must not.
 */
export function dhKeyPair(prime: Uint8Array, generator: bigint, random: RandomSource, trusted = false): DhKeyPair {
  const p = bytesToBigint(prime);
  const pBits = p.toString(2).length;
  if (p < 7n || (p & 1n) === 0n || generator < 2n || generator > p - 2n) throw new KeyExchangeError('unusable DH group');
  const x = privateExponent(pBits, random);
  return trusted ? cachedPair(prime, p, generator, x) : keyObjectPair(prime, p, generator, x);
}

function cachedPair(prime: Uint8Array, p: bigint, generator: bigint, x: Uint8Array): DhKeyPair {
  let publicValue: bigint;
  try {
    const dh = cachedGroup(prime, generator);
    dh.setPrivateKey(x);
    publicValue = bytesToBigint(dh.generateKeys());
  } catch (err) {
    throw new KeyExchangeError('cannot create a DH key pair for this group', undefined, { cause: err });
  }
  return {
    publicValue,
    computeShared(peer: bigint): Uint8Array {
      checkDhPublic(peer, p, 'peer');
      try {
        // the object is shared between exchanges; calls are synchronous, so setting our key first is enough
        const dh = cachedGroup(prime, generator);
        dh.setPrivateKey(x);
        return finishSecret(dh.computeSecret(bigintToBytes(peer)));
      } catch (err) {
        if (err instanceof KeyExchangeError) throw err;
        throw new KeyExchangeError('DH shared secret computation failed', undefined, { cause: err });
      }
    },
  };
}

function keyObjectPair(prime: Uint8Array, p: bigint, generator: bigint, x: Uint8Array): DhKeyPair {
  const algorithm = seq(DH_OID, seq(derInteger(prime), derInteger(bigintToBytes(generator))));
  let privateKey: KeyObject;
  let publicValue: bigint;
  try {
    // OpenSSL derives y = g^x mod p while decoding the PKCS#8 key
    privateKey = createPrivateKey({ key: seq(derInteger(Uint8Array.of(0)), algorithm, tlv(0x04, derInteger(x))), format: 'der', type: 'pkcs8' });
    publicValue = bytesToBigint(spkiPublicValue(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })));
  } catch (err) {
    if (err instanceof KeyExchangeError) throw err;
    throw new KeyExchangeError('cannot create a DH key pair for this group', undefined, { cause: err });
  }
  return {
    publicValue,
    computeShared(peer: bigint): Uint8Array {
      checkDhPublic(peer, p, 'peer');
      try {
        const spki = seq(algorithm, tlv(0x03, Buffer.concat([Uint8Array.of(0), derInteger(bigintToBytes(peer))])));
        const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
        return finishSecret(diffieHellman({ privateKey, publicKey }));
      } catch (err) {
        if (err instanceof KeyExchangeError) throw err;
        throw new KeyExchangeError('DH shared secret computation failed', undefined, { cause: err });
      }
    },
  };
}
