// The three hash layers of UHASH (RFC 4418 §5) as plain number arithmetic.
//
// JavaScript has no 64-bit integer type short of BigInt, which allocates on
// every operation and is far too slow for the per-byte NH layer. Everything
// here therefore works on unsigned 32-bit words held in doubles, with the
// exactness argument spelled out next to each trick. BigInt is used only for
// the 128-bit polynomial, which runs solely for messages above 16 MiB (never
// for SSH packets).

const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32;
const INV_TWO16 = 1 / 65536;

/** Bytes of message consumed by one NH call (the L1 key length). */
export const L1_CHUNK = 1024;

/**
 * NH (RFC 4418 §5.2.2) for two consecutive streams at once, over `nWords`
 * message words starting at `mOff`, plus `bitLength` (the L1 length term),
 * mod 2^64. The first stream's key starts at key word `kOff`, the second's four
 * words later (the Toeplitz shift), so one pass loads each message word once
 * for both. `nWords` is a multiple of 8 and at most 256. Message words are
 * already in host order from little-endian bytes; key words from big-endian
 * bytes. Results: out[o], out[o+1] = high, low 32 bits of the first stream;
 * out[o+2], out[o+3] the same for the second.
 *
 * Each step multiplies two 32-bit words into a 64-bit product. The low 32 bits
 * of every product come exactly from Math.imul and are summed exactly in a
 * double (128 terms below 2^32 stay below 2^39). The full products are summed
 * approximately in another double: each product rounds by at most 2^10, and
 * each addition (sums below 2^71) by at most 2^18, so after 128 terms the sum
 * is off by less than 2^26. The exact total is hi * 2^32 + lowSum, so
 * (approxSum - lowSum) / 2^32 is within 2^-6 of the integer hi and rounding
 * recovers it exactly.
 */
export function nhPair(
  m: Uint32Array,
  mOff: number,
  nWords: number,
  key: Uint32Array,
  kOff: number,
  bitLength: number,
  out: Float64Array,
  o: number,
): void {
  let approx0 = 0;
  let low0 = 0;
  let approx1 = 0;
  let low1 = 0;
  const end = mOff + nWords;
  for (let i = mOff, k = kOff; i < end; i += 8, k += 8) {
    const m0 = m[i]!;
    const m1 = m[i + 1]!;
    const m2 = m[i + 2]!;
    const m3 = m[i + 3]!;
    const m4 = m[i + 4]!;
    const m5 = m[i + 5]!;
    const m6 = m[i + 6]!;
    const m7 = m[i + 7]!;
    const k4 = key[k + 4]!;
    const k5 = key[k + 5]!;
    const k6 = key[k + 6]!;
    const k7 = key[k + 7]!;
    let a0 = (m0 + key[k]!) >>> 0;
    let b0 = (m4 + k4) >>> 0;
    let a1 = (m1 + key[k + 1]!) >>> 0;
    let b1 = (m5 + k5) >>> 0;
    let a2 = (m2 + key[k + 2]!) >>> 0;
    let b2 = (m6 + k6) >>> 0;
    let a3 = (m3 + key[k + 3]!) >>> 0;
    let b3 = (m7 + k7) >>> 0;
    approx0 += a0 * b0 + a1 * b1 + a2 * b2 + a3 * b3;
    low0 += (Math.imul(a0, b0) >>> 0) + (Math.imul(a1, b1) >>> 0) + (Math.imul(a2, b2) >>> 0) + (Math.imul(a3, b3) >>> 0);
    a0 = (m0 + k4) >>> 0;
    b0 = (m4 + key[k + 8]!) >>> 0;
    a1 = (m1 + k5) >>> 0;
    b1 = (m5 + key[k + 9]!) >>> 0;
    a2 = (m2 + k6) >>> 0;
    b2 = (m6 + key[k + 10]!) >>> 0;
    a3 = (m3 + k7) >>> 0;
    b3 = (m7 + key[k + 11]!) >>> 0;
    approx1 += a0 * b0 + a1 * b1 + a2 * b2 + a3 * b3;
    low1 += (Math.imul(a0, b0) >>> 0) + (Math.imul(a1, b1) >>> 0) + (Math.imul(a2, b2) >>> 0) + (Math.imul(a3, b3) >>> 0);
  }
  finishNh(approx0, low0, bitLength, out, o);
  finishNh(approx1, low1, bitLength, out, o + 2);
}

function finishNh(approx: number, low: number, bitLength: number, out: Float64Array, o: number): void {
  const highSum = Math.round((approx - low) * INV_TWO32);
  // Adding the L1 length term (below 2^14) may carry out of the low half.
  let lo = low + bitLength;
  const carry = Math.floor(lo * INV_TWO32);
  lo -= carry * TWO32;
  out[o] = (highSum + carry) >>> 0;
  out[o + 1] = lo;
}

// ------------------------------------------------------------ L2: POLY over p64

/** Splits a masked 64-bit L2 key (as big-endian bytes) into the four 16-bit limbs polyMulAdd wants. */
export function poly64KeyLimbs(keyBytes: Uint8Array, offset: number, limbs: Float64Array, lo: number): void {
  // The RFC masks the key with 0x01FFFFFF01FFFFFF so that products stay small.
  const hi = ((keyBytes[offset]! << 24) | (keyBytes[offset + 1]! << 16) | (keyBytes[offset + 2]! << 8) | keyBytes[offset + 3]!) & 0x01ffffff;
  const low = ((keyBytes[offset + 4]! << 24) | (keyBytes[offset + 5]! << 16) | (keyBytes[offset + 6]! << 8) | keyBytes[offset + 7]!) & 0x01ffffff;
  limbs[lo] = low & 0xffff;
  limbs[lo + 1] = low >>> 16;
  limbs[lo + 2] = hi & 0xffff;
  limbs[lo + 3] = hi >>> 16;
}

/**
 * st[s..s+1] = (k * y + a) mod (2^64 - 59), where y = st[s] * 2^32 + st[s+1] < p
 * and a = aHi * 2^32 + aLo < 2^64. Schoolbook multiplication on 16-bit limbs:
 * every column is a sum of at most four 32-bit products plus small carries,
 * well inside the 2^53 exact range of a double. The part above 2^64 folds back
 * in multiplied by 59, since 2^64 ≡ 59 (mod p).
 */
function polyMulAdd(st: Float64Array, s: number, k: Float64Array, ko: number, aHi: number, aLo: number): void {
  const yHi = st[s]!;
  const yLo = st[s + 1]!;
  const y0 = yLo & 0xffff;
  const y1 = yLo >>> 16;
  const y2 = yHi & 0xffff;
  const y3 = yHi >>> 16;
  const k0 = k[ko]!;
  const k1 = k[ko + 1]!;
  const k2 = k[ko + 2]!;
  const k3 = k[ko + 3]!;

  let c = y0 * k0 + (aLo & 0xffff);
  let carry = Math.floor(c * INV_TWO16);
  const r0 = c - carry * 65536;
  c = y0 * k1 + y1 * k0 + (aLo >>> 16) + carry;
  carry = Math.floor(c * INV_TWO16);
  const r1 = c - carry * 65536;
  c = y0 * k2 + y1 * k1 + y2 * k0 + (aHi & 0xffff) + carry;
  carry = Math.floor(c * INV_TWO16);
  const r2 = c - carry * 65536;
  c = y0 * k3 + y1 * k2 + y2 * k1 + y3 * k0 + (aHi >>> 16) + carry;
  carry = Math.floor(c * INV_TWO16);
  const r3 = c - carry * 65536;
  c = y1 * k3 + y2 * k2 + y3 * k1 + carry;
  carry = Math.floor(c * INV_TWO16);
  const r4 = c - carry * 65536;
  c = y2 * k3 + y3 * k2 + carry;
  carry = Math.floor(c * INV_TWO16);
  const r5 = c - carry * 65536;
  c = y3 * k3 + carry;
  carry = Math.floor(c * INV_TWO16);
  const r6 = c - carry * 65536;
  const r7 = carry;

  // value = L + H * 2^64 ≡ L + 59 H. H < 2^58, so 59 H < 2^64: split it in halves.
  let lo = r1 * 65536 + r0 + 59 * (r5 * 65536 + r4);
  carry = Math.floor(lo * INV_TWO32);
  lo -= carry * TWO32;
  let hi = r3 * 65536 + r2 + 59 * (r7 * 65536 + r6) + carry;
  // One more fold for whatever spilled over 2^64 (a handful of units at most).
  carry = Math.floor(hi * INV_TWO32);
  hi -= carry * TWO32;
  lo += 59 * carry;
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
    if (hi === TWO32) {
      hi = 0;
      lo += 59;
    }
  }
  // Now value < 2^64; at most one subtraction of p remains.
  if (hi === 0xffffffff && lo >= 0xffffffc5) {
    hi = 0;
    lo -= 0xffffffc5;
  }
  st[s] = hi;
  st[s + 1] = lo;
}

/**
 * One word of POLY(64, 2^64 - 2^32, k, M) (RFC 4418 §5.3.2): words at or above
 * 2^64 - 2^32 are fed as the marker p - 1 followed by the word minus 59.
 */
export function poly64Step(st: Float64Array, s: number, k: Float64Array, ko: number, mHi: number, mLo: number): void {
  if (mHi === 0xffffffff) {
    polyMulAdd(st, s, k, ko, 0xffffffff, 0xffffffc4);
    // m - 59 cannot underflow: m >= 2^64 - 2^32.
    if (mLo >= 59) polyMulAdd(st, s, k, ko, mHi, mLo - 59);
    else polyMulAdd(st, s, k, ko, mHi - 1, mLo + TWO32 - 59);
  } else {
    polyMulAdd(st, s, k, ko, mHi, mLo);
  }
}

// ------------------------------------------------------------ L2: POLY over p128

const P128 = (1n << 128n) - 159n;
const MAX128 = (1n << 128n) - (1n << 96n);

/** One word of POLY(128, 2^128 - 2^96, k, M); BigInt is fine here (messages > 16 MiB only). */
export function poly128Step(y: bigint, k: bigint, m: bigint): bigint {
  if (m >= MAX128) {
    y = (k * y + (P128 - 1n)) % P128;
    return (k * y + (m - 159n)) % P128;
  }
  return (k * y + m) % P128;
}

/** The masked 128-bit L2 key from 16 big-endian bytes (mask 0x01FFFFFF repeated). */
export function poly128Key(keyBytes: Uint8Array, offset: number): bigint {
  let k = 0n;
  for (let i = 0; i < 16; i++) k = (k << 8n) | BigInt(keyBytes[offset + i]!);
  return k & 0x01ffffff01ffffff01ffffff01ffffffn;
}

// ------------------------------------------------------------ L3: inner product

/** 2^36 - 5, the L3 prime. */
export const P36 = 68719476731;

/** An 8-byte big-endian L3 key word reduced mod p36 (a double below 2^36); once per key, so BigInt. */
export function l3KeyWord(keyBytes: Uint8Array, offset: number): number {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(keyBytes[offset + i]!);
  return Number(v % BigInt(P36));
}

const INV_TWO36 = 1 / 68719476736;

/**
 * L3-HASH (RFC 4418 §5.4) of the 128-bit L2 output given as four 32-bit words,
 * most significant first. Each product of a 16-bit word and a key below 2^36
 * is under 2^52, so one can be added to a partly reduced sum (below 2^37)
 * exactly. Reduction folds the bits above 2^36 back in times 5 (2^36 ≡ 5),
 * which is much cheaper than the `%` operator on doubles.
 */
export function l3(w3: number, w2: number, w1: number, w0: number, k: Float64Array, ko: number, k2: number): number {
  let y = (w3 >>> 16) * k[ko]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w3 & 0xffff) * k[ko + 1]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w2 >>> 16) * k[ko + 2]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w2 & 0xffff) * k[ko + 3]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w1 >>> 16) * k[ko + 4]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w1 & 0xffff) * k[ko + 5]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w0 >>> 16) * k[ko + 6]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  y += (w0 & 0xffff) * k[ko + 7]!;
  y -= Math.floor(y * INV_TWO36) * P36;
  // y < 2^36 + 2^20 here; one more fold leaves y < 2^36 + 5 < 2 p36.
  y -= Math.floor(y * INV_TWO36) * P36;
  if (y >= P36) y -= P36;
  return ((y >>> 0) ^ k2) >>> 0;
}
