// Wire encodings of sntrup761 polynomials.
//
// Rq and rounded polynomials use NTRU Prime's mixed-radix encoding: adjacent
// pairs (r0 in [0, m0), r1 in [0, m1)) are merged into r0 + m0*r1 with
// modulus m0*m1, low bytes are emitted while the merged modulus is at least
// 2^14, and the halved list is encoded the same way until one value is left.
// How many bytes each pair emits depends only on the moduli, so it is worked
// out once per modulus as a "plan" shared by the encoder and decoder.

import { P, Q, Q12 } from './sntrup761-poly.js';

interface Level {
  /** Modulus of each value at this level. */
  readonly m: Uint32Array;
  /** Bytes emitted by each pair (0, 1 or 2). */
  readonly bytes: Uint8Array;
}

interface Plan {
  readonly levels: readonly Level[];
  /** Modulus of the single value left at the bottom. */
  readonly lastM: number;
  readonly totalBytes: number;
}

function makePlan(len: number, modulus: number): Plan {
  const levels: Level[] = [];
  let m = new Uint32Array(len).fill(modulus);
  let total = 0;
  while (m.length > 1) {
    const pairs = m.length >> 1;
    const next = new Uint32Array((m.length + 1) >> 1);
    const bytes = new Uint8Array(pairs);
    for (let k = 0; k < pairs; k++) {
      let mm = m[2 * k]! * m[2 * k + 1]!;
      let n = 0;
      while (mm >= 16384) {
        mm = (mm + 255) >>> 8;
        n++;
      }
      bytes[k] = n;
      total += n;
      next[k] = mm;
    }
    if (m.length & 1) next[pairs] = m[m.length - 1]!;
    levels.push({ m, bytes });
    m = next;
  }
  let last = m[0]!;
  const lastM = last;
  while (last > 1) {
    last = (last + 255) >>> 8;
    total++;
  }
  return { levels, lastM, totalBytes: total };
}

const RQ_PLAN = makePlan(P, Q);
const ROUNDED_PLAN = makePlan(P, (Q + 2) / 3);

export const RQ_BYTES = RQ_PLAN.totalBytes; // 1158
export const ROUNDED_BYTES = ROUNDED_PLAN.totalBytes; // 1007
export const SMALL_BYTES = (P + 3) >> 2; // 191

/** Writes values (each below the plan's modulus) into out at offset. Branches only on the plan. */
function encodeWith(plan: Plan, values: Uint32Array, out: Uint8Array, offset: number): void {
  let pos = offset;
  let cur = values;
  for (const { m, bytes } of plan.levels) {
    const pairs = m.length >> 1;
    const next = new Uint32Array((m.length + 1) >> 1);
    for (let k = 0; k < pairs; k++) {
      let r = cur[2 * k]! + cur[2 * k + 1]! * m[2 * k]!;
      for (let n = bytes[k]!; n > 0; n--) {
        out[pos++] = r & 255;
        r >>>= 8;
      }
      next[k] = r;
    }
    if (m.length & 1) next[pairs] = cur[m.length - 1]!;
    cur.fill(0);
    cur = next;
  }
  let r = cur[0]!;
  for (let last = plan.lastM; last > 1; last = (last + 255) >>> 8) {
    out[pos++] = r & 255;
    r >>>= 8;
  }
  cur.fill(0);
}

/**
 * Reads plan.totalBytes bytes at offset. Every result is reduced below its
 * modulus, whatever the input bytes. Only public data (public keys,
 * ciphertexts) is ever decoded, so plain division is fine here.
 */
function decodeWith(plan: Plan, input: Uint8Array, offset: number): Uint32Array {
  // Top-down the low bytes of each pair are read in stream order; bottom-up
  // the pairs are then split again with the values recovered below.
  let pos = offset;
  const lows: Uint32Array[] = [];
  for (const { bytes } of plan.levels) {
    const low = new Uint32Array(bytes.length);
    for (let k = 0; k < bytes.length; k++) {
      const n = bytes[k]!;
      if (n === 2) {
        low[k] = input[pos]! | (input[pos + 1]! << 8);
      } else if (n === 1) {
        low[k] = input[pos]!;
      }
      pos += n;
    }
    lows.push(low);
  }
  let v = 0;
  if (plan.lastM > 256) v = input[pos]! | (input[pos + 1]! << 8);
  else if (plan.lastM > 1) v = input[pos]!;
  let cur = new Uint32Array(1);
  cur[0] = v % plan.lastM;
  for (let l = plan.levels.length - 1; l >= 0; l--) {
    const { m, bytes } = plan.levels[l]!;
    const low = lows[l]!;
    const out = new Uint32Array(m.length);
    const pairs = m.length >> 1;
    for (let k = 0; k < pairs; k++) {
      const x = low[k]! + cur[k]! * 2 ** (8 * bytes[k]!);
      const m0 = m[2 * k]!;
      const quo = Math.floor(x / m0);
      out[2 * k] = x - quo * m0;
      out[2 * k + 1] = quo % m[2 * k + 1]!;
    }
    if (m.length & 1) out[m.length - 1] = cur[pairs]!;
    cur = out;
  }
  return cur;
}

/** Rq polynomial (coefficients in [-Q12, Q12]) to 1158 bytes. */
export function rqEncode(out: Uint8Array, offset: number, r: ArrayLike<number>): void {
  const v = new Uint32Array(P);
  for (let i = 0; i < P; i++) v[i] = r[i]! + Q12;
  encodeWith(RQ_PLAN, v, out, offset);
}

export function rqDecode(out: Int16Array, input: Uint8Array, offset: number): void {
  const v = decodeWith(RQ_PLAN, input, offset);
  for (let i = 0; i < P; i++) out[i] = v[i]! - Q12;
}

/** Rounded polynomial (multiples of 3 in [-Q12, Q12]) to 1007 bytes. */
export function roundedEncode(out: Uint8Array, offset: number, r: ArrayLike<number>): void {
  const v = new Uint32Array(P);
  // (r + Q12) is a multiple of 3 below 2^13; 10923 / 2^15 divides it exactly.
  for (let i = 0; i < P; i++) v[i] = ((r[i]! + Q12) * 10923) >>> 15;
  encodeWith(ROUNDED_PLAN, v, out, offset);
}

export function roundedDecode(out: Int16Array, input: Uint8Array, offset: number): void {
  const v = decodeWith(ROUNDED_PLAN, input, offset);
  for (let i = 0; i < P; i++) out[i] = v[i]! * 3 - Q12;
}

/** Ternary polynomial to 191 bytes, 2 bits per coefficient (c + 1), little-endian. */
export function smallEncode(out: Uint8Array, offset: number, f: ArrayLike<number>): void {
  let i = 0;
  for (let k = 0; k < P >> 2; k++, i += 4) {
    out[offset + k] = (f[i]! + 1) | ((f[i + 1]! + 1) << 2) | ((f[i + 2]! + 1) << 4) | ((f[i + 3]! + 1) << 6);
  }
  out[offset + (P >> 2)] = f[P - 1]! + 1;
}

/** Inverse of smallEncode. A corrupted byte can yield 2, exactly as the reference. */
export function smallDecode(out: Int8Array, input: Uint8Array, offset: number): void {
  let i = 0;
  for (let k = 0; k < P >> 2; k++) {
    const x = input[offset + k]!;
    out[i++] = (x & 3) - 1;
    out[i++] = ((x >> 2) & 3) - 1;
    out[i++] = ((x >> 4) & 3) - 1;
    out[i++] = ((x >> 6) & 3) - 1;
  }
  out[P - 1] = (input[offset + (P >> 2)]! & 3) - 1;
}
