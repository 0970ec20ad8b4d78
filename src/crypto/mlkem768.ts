// ML-KEM-768 (FIPS 203), the KEM half of mlkem768x25519-sha256. Written for
// the client's start-up: SHA3 and SHAKE come from node:crypto (native), and
// the polynomial arithmetic is small integer loops, so the first key pair of
// a process costs a few milliseconds where a general-purpose JavaScript
// library (its own Keccak, cold in a fresh process) took 30–40 ms, and there
// are no extra modules to load. test/core/mlkem768.test.ts checks it against
// @noble/post-quantum byte for byte. Like any JavaScript, it makes no
// constant-time promise; the decapsulation's comparison and selection are
// branch-free all the same.
import { createHash } from 'node:crypto';

const N = 256;
const Q = 3329;
const K = 3;
const ETA = 2; // eta1 = eta2 = 2 for ML-KEM-768
const DU = 10;
const DV = 4;

/** Sizes of ML-KEM-768's values, in bytes. */
export const MLKEM768_PUBLIC_KEY_BYTES = 384 * K + 32; // 1184
export const MLKEM768_SECRET_KEY_BYTES = 768 * K + 96; // 2400
export const MLKEM768_CIPHERTEXT_BYTES = 32 * (DU * K + DV); // 1088
export const MLKEM768_SEED_BYTES = 64;
export const MLKEM768_MESSAGE_BYTES = 32;

type Poly = Int32Array;

/** 17^BitRev7(i) mod q (NTT twiddles) and 17^(2·BitRev7(i)+1) mod q (base-case multiplication). */
const ZETAS = new Int32Array(128);
const GAMMAS = new Int32Array(128);
{
  const pow17 = new Int32Array(256);
  pow17[0] = 1;
  for (let e = 1; e < 256; e++) pow17[e] = (pow17[e - 1]! * 17) % Q;
  for (let i = 0; i < 128; i++) {
    let rev = 0;
    for (let b = 0; b < 7; b++) rev |= ((i >> b) & 1) << (6 - b);
    ZETAS[i] = pow17[rev]!;
    GAMMAS[i] = pow17[2 * rev + 1]!;
  }
}
/** 128^-1 mod q: the inverse NTT's scaling. */
const INV_128 = 3303;

const sha3_256 = (...parts: Uint8Array[]): Uint8Array => digest('sha3-256', parts);
const sha3_512 = (...parts: Uint8Array[]): Uint8Array => digest('sha3-512', parts);
const shake256 = (length: number, ...parts: Uint8Array[]): Uint8Array => digest('shake256', parts, length);
function digest(name: string, parts: readonly Uint8Array[], outputLength?: number): Uint8Array {
  const h = outputLength === undefined ? createHash(name) : createHash(name, { outputLength });
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function ntt(f: Poly): void {
  let i = 1;
  for (let len = 128; len >= 2; len >>= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i++]!;
      for (let j = start; j < start + len; j++) {
        const t = (zeta * f[j + len]!) % Q;
        f[j + len] = (f[j]! - t + Q) % Q;
        f[j] = (f[j]! + t) % Q;
      }
    }
  }
}

function invNtt(f: Poly): void {
  let i = 127;
  for (let len = 2; len <= 128; len <<= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i--]!;
      for (let j = start; j < start + len; j++) {
        const t = f[j]!;
        f[j] = (t + f[j + len]!) % Q;
        f[j + len] = (zeta * ((f[j + len]! - t + Q) % Q)) % Q;
      }
    }
  }
  for (let j = 0; j < N; j++) f[j] = (f[j]! * INV_128) % Q;
}

/** acc += a ∘ b in the NTT domain (FIPS 203 Algorithms 11–12). */
function multiplyAdd(acc: Poly, a: Poly, b: Poly): void {
  for (let i = 0; i < 128; i++) {
    const a0 = a[2 * i]!, a1 = a[2 * i + 1]!, b0 = b[2 * i]!, b1 = b[2 * i + 1]!;
    acc[2 * i] = (acc[2 * i]! + a0 * b0 + ((a1 * b1) % Q) * GAMMAS[i]!) % Q;
    acc[2 * i + 1] = (acc[2 * i + 1]! + a0 * b1 + a1 * b0) % Q;
  }
}

/** SampleNTT (Algorithm 7) from SHAKE128(rho || j || i); the XOF's output is read further when rejections run long. */
function sampleNtt(rho: Uint8Array, j: number, i: number): Poly {
  const seed = new Uint8Array(34);
  seed.set(rho);
  seed[32] = j;
  seed[33] = i;
  const f = new Int32Array(N);
  let n = 0;
  let pos = 0;
  for (let length = 3 * 168; ; length += 168) {
    // SHAKE's output for a longer length starts with the shorter one's.
    const b = new Uint8Array(createHash('shake128', { outputLength: length }).update(seed).digest());
    for (; pos + 3 <= b.length && n < N; pos += 3) {
      const d1 = b[pos]! | ((b[pos + 1]! & 0x0f) << 8);
      const d2 = (b[pos + 1]! >> 4) | (b[pos + 2]! << 4);
      if (d1 < Q) f[n++] = d1;
      if (d2 < Q && n < N) f[n++] = d2;
    }
    if (n === N) return f;
  }
}

/** SamplePolyCBD for eta = 2 (Algorithm 8) from PRF(s, b) = SHAKE256(s || b, 128). */
function sampleCbd(s: Uint8Array, b: number): Poly {
  const bytes = shake256(64 * ETA, s, Uint8Array.of(b));
  const f = new Int32Array(N);
  for (let i = 0; i < 128; i++) {
    const x = bytes[i]!;
    // Each nibble is two pairs of bits: (b0 + b1) - (b2 + b3).
    f[2 * i] = ((x & 1) + ((x >> 1) & 1) - ((x >> 2) & 1) - ((x >> 3) & 1) + Q) % Q;
    f[2 * i + 1] = (((x >> 4) & 1) + ((x >> 5) & 1) - ((x >> 6) & 1) - ((x >> 7) & 1) + Q) % Q;
  }
  return f;
}

/** ByteEncode_d (Algorithm 5): d-bit words, least significant bit first. */
function byteEncode(f: Poly, d: number, out: Uint8Array, offset: number): void {
  let acc = 0;
  let bits = 0;
  let o = offset;
  for (let i = 0; i < N; i++) {
    acc |= f[i]! << bits;
    bits += d;
    while (bits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
}

/** ByteDecode_d (Algorithm 6); for d = 12 the words are taken mod q, as the standard says. */
function byteDecode(bytes: Uint8Array, offset: number, d: number): Poly {
  const f = new Int32Array(N);
  const mask = (1 << d) - 1;
  let acc = 0;
  let bits = 0;
  let o = offset;
  for (let i = 0; i < N; i++) {
    while (bits < d) {
      acc |= bytes[o++]! << bits;
      bits += 8;
    }
    const w = acc & mask;
    f[i] = d === 12 ? w % Q : w;
    acc >>>= d;
    bits -= d;
  }
  return f;
}

/** Compress_d / Decompress_d (§4.2.1), rounding half up. */
function compress(f: Poly, d: number): Poly {
  const out = new Int32Array(N);
  const mask = (1 << d) - 1;
  const scale = 2 << d;
  for (let i = 0; i < N; i++) out[i] = Math.floor((f[i]! * scale + Q) / (2 * Q)) & mask;
  return out;
}
function decompress(f: Poly, d: number): Poly {
  const out = new Int32Array(N);
  const half = 1 << (d - 1);
  for (let i = 0; i < N; i++) out[i] = (f[i]! * Q + half) >> d;
  return out;
}

/** Â as A[i][j] = SampleNTT(rho || j || i); `transposed` gives A^T. */
function matrix(rho: Uint8Array, transposed: boolean): Poly[][] {
  const a: Poly[][] = [];
  for (let i = 0; i < K; i++) {
    const row: Poly[] = [];
    for (let j = 0; j < K; j++) row.push(transposed ? sampleNtt(rho, i, j) : sampleNtt(rho, j, i));
    a.push(row);
  }
  return a;
}

/** K-PKE.Encrypt (Algorithm 14). `ek`'s length and modulus are the caller's to check. */
function pkeEncrypt(ek: Uint8Array, m: Uint8Array, r: Uint8Array): Uint8Array {
  const tHat: Poly[] = [];
  for (let i = 0; i < K; i++) tHat.push(byteDecode(ek, 384 * i, 12));
  const rho = ek.subarray(384 * K, 384 * K + 32);
  const aT = matrix(rho, true);
  let nonce = 0;
  const y: Poly[] = [];
  for (let i = 0; i < K; i++) y.push(sampleCbd(r, nonce++));
  const e1: Poly[] = [];
  for (let i = 0; i < K; i++) e1.push(sampleCbd(r, nonce++));
  const e2 = sampleCbd(r, nonce);
  for (const p of y) ntt(p);
  const c = new Uint8Array(MLKEM768_CIPHERTEXT_BYTES);
  for (let i = 0; i < K; i++) {
    const u = new Int32Array(N);
    for (let j = 0; j < K; j++) multiplyAdd(u, aT[i]![j]!, y[j]!);
    invNtt(u);
    for (let k = 0; k < N; k++) u[k] = (u[k]! + e1[i]![k]!) % Q;
    byteEncode(compress(u, DU), DU, c, 32 * DU * i);
  }
  const v = new Int32Array(N);
  for (let j = 0; j < K; j++) multiplyAdd(v, tHat[j]!, y[j]!);
  invNtt(v);
  const mu = decompress(byteDecode(m, 0, 1), 1);
  for (let k = 0; k < N; k++) v[k] = (v[k]! + e2[k]! + mu[k]!) % Q;
  byteEncode(compress(v, DV), DV, c, 32 * DU * K);
  return c;
}

/** K-PKE.Decrypt (Algorithm 15). */
function pkeDecrypt(dkPke: Uint8Array, c: Uint8Array): Uint8Array {
  const w = decompress(byteDecode(c, 32 * DU * K, DV), DV);
  const sum = new Int32Array(N);
  for (let i = 0; i < K; i++) {
    const u = decompress(byteDecode(c, 32 * DU * i, DU), DU);
    ntt(u);
    multiplyAdd(sum, byteDecode(dkPke, 384 * i, 12), u);
  }
  invNtt(sum);
  for (let k = 0; k < N; k++) w[k] = (w[k]! - sum[k]! + Q) % Q;
  const m = new Uint8Array(32);
  byteEncode(compress(w, 1), 1, m, 0);
  return m;
}

/** The encapsulation key's modulus check (§7.2): every 12-bit word below q. */
function checkEncapsulationKey(ek: Uint8Array): void {
  if (ek.length !== MLKEM768_PUBLIC_KEY_BYTES) throw new RangeError(`ML-KEM-768 public key is ${ek.length} bytes, expected ${MLKEM768_PUBLIC_KEY_BYTES}`);
  for (let o = 0; o < 384 * K; o += 3) {
    const d1 = ek[o]! | ((ek[o + 1]! & 0x0f) << 8);
    const d2 = (ek[o + 1]! >> 4) | (ek[o + 2]! << 4);
    if (d1 >= Q || d2 >= Q) throw new RangeError('ML-KEM-768 public key fails the modulus check');
  }
}

/** ML-KEM.KeyGen_internal (Algorithm 16) from `seed` = d || z (64 bytes). */
export function mlkem768KeyPair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (seed.length !== MLKEM768_SEED_BYTES) throw new RangeError(`ML-KEM-768 seed is ${seed.length} bytes, expected ${MLKEM768_SEED_BYTES}`);
  const g = sha3_512(seed.subarray(0, 32), Uint8Array.of(K));
  const rho = g.subarray(0, 32);
  const sigma = g.subarray(32, 64);
  const a = matrix(rho, false);
  let nonce = 0;
  const s: Poly[] = [];
  for (let i = 0; i < K; i++) s.push(sampleCbd(sigma, nonce++));
  const e: Poly[] = [];
  for (let i = 0; i < K; i++) e.push(sampleCbd(sigma, nonce++));
  for (const p of s) ntt(p);
  for (const p of e) ntt(p);
  const publicKey = new Uint8Array(MLKEM768_PUBLIC_KEY_BYTES);
  const secretKey = new Uint8Array(MLKEM768_SECRET_KEY_BYTES);
  for (let i = 0; i < K; i++) {
    const t = e[i]!;
    for (let j = 0; j < K; j++) multiplyAdd(t, a[i]![j]!, s[j]!);
    byteEncode(t, 12, publicKey, 384 * i);
    byteEncode(s[i]!, 12, secretKey, 384 * i);
  }
  publicKey.set(rho, 384 * K);
  // dk = dk_pke || ek || H(ek) || z
  secretKey.set(publicKey, 384 * K);
  secretKey.set(sha3_256(publicKey), 768 * K + 32);
  secretKey.set(seed.subarray(32, 64), 768 * K + 64);
  return { publicKey, secretKey };
}

/** ML-KEM.Encaps_internal (Algorithm 17) with the 32 random bytes `m`; throws RangeError for a malformed public key. */
export function mlkem768Encapsulate(publicKey: Uint8Array, m: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
  checkEncapsulationKey(publicKey);
  if (m.length !== MLKEM768_MESSAGE_BYTES) throw new RangeError(`ML-KEM-768 message is ${m.length} bytes, expected ${MLKEM768_MESSAGE_BYTES}`);
  const kr = sha3_512(m, sha3_256(publicKey));
  return { ciphertext: pkeEncrypt(publicKey, m, kr.subarray(32, 64)), sharedSecret: kr.slice(0, 32) };
}

/** ML-KEM.Decaps_internal (Algorithm 18): a ciphertext that does not re-encrypt gives the implicit-rejection secret. */
export function mlkem768Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) throw new RangeError(`ML-KEM-768 ciphertext is ${ciphertext.length} bytes, expected ${MLKEM768_CIPHERTEXT_BYTES}`);
  if (secretKey.length !== MLKEM768_SECRET_KEY_BYTES) throw new RangeError(`ML-KEM-768 secret key is ${secretKey.length} bytes, expected ${MLKEM768_SECRET_KEY_BYTES}`);
  const dkPke = secretKey.subarray(0, 384 * K);
  const ek = secretKey.subarray(384 * K, 768 * K + 32);
  const h = secretKey.subarray(768 * K + 32, 768 * K + 64);
  const z = secretKey.subarray(768 * K + 64, 768 * K + 96);
  const m = pkeDecrypt(dkPke, ciphertext);
  const kr = sha3_512(m, h);
  const rejected = shake256(32, z, ciphertext);
  const again = pkeEncrypt(ek, m, kr.subarray(32, 64));
  let diff = 0;
  for (let i = 0; i < ciphertext.length; i++) diff |= ciphertext[i]! ^ again[i]!;
  // 0xff when the ciphertexts differ, 0 when equal: select without a branch.
  const mask = -((diff | -diff) >>> 31) & 0xff;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (kr[i]! & ~mask) | (rejected[i]! & mask);
  return out;
}
