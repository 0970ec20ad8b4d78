// Streamlined NTRU Prime sntrup761 KEM, byte-compatible with OpenSSH (whose
// sntrup761.c is SUPERCOP's portable "compact" version) and with
// draft-josefsson-ntruprime-streamlined.
//
// Keys, ciphertexts and shared secrets are identical to the reference for the
// same random bytes: random(n) is read as one continuous byte stream, in the
// reference's order (ternary g, retried until invertible mod 3: 3044 bytes
// each; short f: 3044 bytes; rho: 191 bytes; for encapsulation: short r:
// 3044 bytes), each 4-byte group being a little-endian uint32.

import { createHash } from 'node:crypto';
import { KeyExchangeError } from '../errors.js';
import {
  P, W, freeze3, freezeQ, r3Mul, r3Recip, rqMulSmall, rqRecip3, wipePolyBuffers,
} from './sntrup761-poly.js';
import {
  ROUNDED_BYTES, RQ_BYTES, SMALL_BYTES,
  roundedDecode, roundedEncode, rqDecode, rqEncode, smallDecode, smallEncode,
} from './sntrup761-encode.js';

export const SNTRUP761_PUBLIC_KEY_BYTES = 1158;
export const SNTRUP761_SECRET_KEY_BYTES = 1763;
export const SNTRUP761_CIPHERTEXT_BYTES = 1039;
export const SNTRUP761_SHARED_BYTES = 32;

const HASH_BYTES = 32;
// Secret key layout: f | 1/g mod 3 | public key | rho | hash of public key.
const SK_GINV = SMALL_BYTES;
const SK_PK = 2 * SMALL_BYTES;
const SK_RHO = SK_PK + SNTRUP761_PUBLIC_KEY_BYTES;
const SK_CACHE = SK_RHO + SMALL_BYTES;

if (RQ_BYTES !== SNTRUP761_PUBLIC_KEY_BYTES || ROUNDED_BYTES + HASH_BYTES !== SNTRUP761_CIPHERTEXT_BYTES
  || SK_CACHE + HASH_BYTES !== SNTRUP761_SECRET_KEY_BYTES) {
  throw new Error('sntrup761: internal size mismatch');
}

/** First 32 bytes of SHA-512(prefix byte || parts...): the spec's Hash_b. */
function hashPrefix(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  h.update(Uint8Array.of(prefix));
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest().subarray(0, HASH_BYTES));
}

function draw(random: (n: number) => Uint8Array, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new KeyExchangeError(`sntrup761: random source returned ${bytes?.length ?? 'nothing'} bytes, expected ${n}`);
  }
  return bytes;
}

function checkLength(name: string, value: Uint8Array, expected: number): void {
  if (!(value instanceof Uint8Array) || value.length !== expected) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : 'not a byte array';
    throw new KeyExchangeError(`sntrup761: ${name} must be ${expected} bytes, got ${got}`);
  }
}

function uint32le(b: Uint8Array, i: number): number {
  return (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0;
}

/** Uniform-ish ternary polynomial: coefficient floor(3 * (L mod 2^30) / 2^30) - 1. */
function smallRandom(out: Int8Array, random: (n: number) => Uint8Array): void {
  const bytes = draw(random, 4 * P);
  for (let i = 0; i < P; i++) out[i] = (((uint32le(bytes, i) & 0x3fffffff) * 3) >>> 30) - 1;
  bytes.fill(0);
}

// Short polynomials come from sorting 761 random words whose low two bits
// carry the coefficient (+1 or -1 in the first W words, 0 in the rest): the
// sort moves the coefficients to uniformly random positions. Any correct sort
// gives the reference's result, since equal keys have equal low bits; a
// bitonic network keeps the comparisons independent of the data.
const SORT_N = 1024;
const sortBuf = new Float64Array(SORT_N);

function sortNetwork(x: Float64Array): void {
  // Bitonic sort. Loop bounds and directions depend only on indices. A
  // comparator swaps when the difference d of the pair (below 2^33 in
  // magnitude) is negative: floor(d * 2^-33) is then -1, otherwise 0.
  for (let k = 2; k <= SORT_N; k <<= 1) {
    for (let j = k >> 1; j > 0; j >>= 1) {
      for (let base = 0; base < SORT_N; base += 2 * j) {
        const scale = (base & k) === 0 ? 2 ** -33 : -(2 ** -33); // ascending or descending run
        for (let i = base; i < base + j; i++) {
          const a = x[i]!, b = x[i + j]!;
          const d = b - a;
          const t = -Math.floor(d * scale) * d;
          x[i] = a + t;
          x[i + j] = b - t;
        }
      }
    }
  }
}

function shortRandom(out: Int8Array, random: (n: number) => Uint8Array): void {
  const bytes = draw(random, 4 * P);
  const x = sortBuf;
  for (let i = 0; i < P; i++) {
    const u = uint32le(bytes, i);
    x[i] = i < W ? (u & ~1) >>> 0 : ((u & ~3) | 1) >>> 0;
  }
  for (let i = P; i < SORT_N; i++) x[i] = 2 ** 32; // above every key: stays at the end
  sortNetwork(x);
  for (let i = 0; i < P; i++) out[i] = (x[i]! & 3) - 1;
  x.fill(0);
  bytes.fill(0);
}

/** Constant-time select: a where mask is -1, b where it is 0. */
function selectBytes(mask: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b[i]! ^ (mask & (a[i]! ^ b[i]!));
  return out;
}

/**
 * Deterministic encryption of short r under the public key, plus the
 * confirmation hash: the ciphertext. Also returns Hash_3(encode(r)), which
 * the session key reuses.
 */
function hide(r: Int8Array, pk: Uint8Array, cache: Uint8Array): { ciphertext: Uint8Array; rEnc: Uint8Array } {
  const rEnc = new Uint8Array(SMALL_BYTES);
  smallEncode(rEnc, 0, r);
  const h = new Int16Array(P);
  rqDecode(h, pk, 0);
  const hr = new Int16Array(P);
  rqMulSmall(hr, h, r);
  // Round each coefficient to the nearest multiple of 3.
  for (let i = 0; i < P; i++) hr[i] = hr[i]! - freeze3(hr[i]!);
  const ciphertext = new Uint8Array(SNTRUP761_CIPHERTEXT_BYTES);
  roundedEncode(ciphertext, 0, hr);
  ciphertext.set(hashPrefix(2, hashPrefix(3, rEnc), cache), ROUNDED_BYTES);
  hr.fill(0);
  return { ciphertext, rEnc };
}

export function sntrup761KeyPair(random: (n: number) => Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const g = new Int8Array(P);
  const ginv = new Int8Array(P);
  for (;;) {
    smallRandom(g, random);
    if (r3Recip(ginv, g)) break;
  }
  const f = new Int8Array(P);
  shortRandom(f, random);
  const finv3 = new Int16Array(P);
  rqRecip3(finv3, f);
  const h = new Int16Array(P);
  rqMulSmall(h, finv3, g);

  const publicKey = new Uint8Array(SNTRUP761_PUBLIC_KEY_BYTES);
  rqEncode(publicKey, 0, h);
  const secretKey = new Uint8Array(SNTRUP761_SECRET_KEY_BYTES);
  smallEncode(secretKey, 0, f);
  smallEncode(secretKey, SK_GINV, ginv);
  secretKey.set(publicKey, SK_PK);
  secretKey.set(draw(random, SMALL_BYTES), SK_RHO);
  secretKey.set(hashPrefix(4, publicKey), SK_CACHE);

  g.fill(0);
  ginv.fill(0);
  f.fill(0);
  finv3.fill(0);
  wipePolyBuffers();
  return { publicKey, secretKey };
}

export function sntrup761Encap(
  publicKey: Uint8Array,
  random: (n: number) => Uint8Array,
): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
  checkLength('public key', publicKey, SNTRUP761_PUBLIC_KEY_BYTES);
  const cache = hashPrefix(4, publicKey);
  const r = new Int8Array(P);
  shortRandom(r, random);
  const { ciphertext, rEnc } = hide(r, publicKey, cache);
  const sharedSecret = hashPrefix(1, hashPrefix(3, rEnc), ciphertext);
  r.fill(0);
  rEnc.fill(0);
  wipePolyBuffers();
  return { ciphertext, sharedSecret };
}

/**
 * Never fails on a well-sized ciphertext: an invalid one yields a
 * pseudorandom secret derived from rho (implicit rejection), so the caller
 * learns nothing it could not learn from the failed key exchange itself.
 */
export function sntrup761Decap(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength('ciphertext', ciphertext, SNTRUP761_CIPHERTEXT_BYTES);
  checkLength('secret key', secretKey, SNTRUP761_SECRET_KEY_BYTES);
  const f = new Int8Array(P);
  const ginv = new Int8Array(P);
  smallDecode(f, secretKey, 0);
  smallDecode(ginv, secretKey, SK_GINV);
  const c = new Int16Array(P);
  roundedDecode(c, ciphertext, 0);

  // c = h*r + (rounding error e) with h = g/(3f), so 3*c*f = g*r + 3*e*f mod q;
  // its small lift mod 3 is g*r, and multiplying by 1/g mod 3 leaves r.
  const cf = new Int16Array(P);
  rqMulSmall(cf, c, f);
  const e = new Int8Array(P);
  for (let i = 0; i < P; i++) e[i] = freeze3(freezeQ(3 * cf[i]!));
  const ev = new Int8Array(P);
  r3Mul(ev, e, ginv);
  // A weight other than W means decryption failed: substitute a fixed short
  // vector (W ones) so the re-encryption check rejects without branching.
  let weight = 0;
  for (let i = 0; i < P; i++) weight += ev[i]! & 1;
  const bad = ((weight - W) | (W - weight)) >> 31;
  const r = new Int8Array(P);
  for (let i = 0; i < W; i++) r[i] = ((ev[i]! ^ 1) & ~bad) ^ 1;
  for (let i = W; i < P; i++) r[i] = ev[i]! & ~bad;

  const pk = secretKey.subarray(SK_PK, SK_RHO);
  const rho = secretKey.subarray(SK_RHO, SK_CACHE);
  const cache = secretKey.subarray(SK_CACHE);
  const { ciphertext: again, rEnc } = hide(r, pk, cache);
  let diff = 0;
  for (let i = 0; i < SNTRUP761_CIPHERTEXT_BYTES; i++) diff |= again[i]! ^ ciphertext[i]!;
  const reject = -(((diff - 1) >> 8) & 1) ^ -1; // -1 when the ciphertexts differ
  const chosen = selectBytes(reject, rho, rEnc);
  const sharedSecret = hashPrefix(1 + reject, hashPrefix(3, chosen), ciphertext);

  for (const x of [f, ginv, cf, e, ev, r, rEnc, chosen]) x.fill(0);
  wipePolyBuffers();
  return sharedSecret;
}
