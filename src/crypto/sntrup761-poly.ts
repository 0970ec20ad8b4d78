// Polynomial arithmetic for sntrup761 in R = Z[x]/(x^761 - x - 1), reduced
// mod q = 4591 ("Rq") or mod 3 ("R3").
//
// Everything that touches secret data is written without secret-dependent
// branches or memory indices: selections are masks (integers) or 0/1
// multipliers (doubles), and loop bounds depend only on public constants.
// The working buffers are module-level and reused: every function here is
// synchronous, so no two calls can interleave.

export const P = 761;
export const Q = 4591;
export const W = 286;
/** (q - 1) / 2: coefficients of Rq are kept in [-Q12, Q12]. */
export const Q12 = 2295;

const INV_Q = 1 / Q;
const ROUND_MAGIC = 1.5 * 2 ** 52;

/**
 * Centred residue mod q for an integer |x| < 2^40. x / q can never be within
 * 1/(2q) of a half-integer (q is odd), far more than the rounding error of
 * x * INV_Q, so the floor is exact. Math.floor compiles to a single rounding
 * instruction, so the time does not depend on x.
 */
export function freezeQ(x: number): number {
  return x - Q * Math.floor(x * INV_Q + 0.5);
}

/** Centred residue mod 3 (-1, 0 or 1) for an integer |x| < 2^14, branch-free. */
export function freeze3(x: number): number {
  // 21846 / 2^16 is 1/3 to within 1e-5: the rounded quotient is exact here.
  return x - 3 * ((Math.imul(x, 21846) + 32768) >> 16);
}

// ---------------------------------------------------------------------------
// Multiplication: three Karatsuba levels (768 -> 96 coefficients), then a
// register-blocked schoolbook in doubles. Everything is an exact integer
// below 2^53: inputs are at most Q12 on one side and at most 2 (ternary, or a
// corrupted secret-key digit) on the other, and three Karatsuba levels
// multiply each bound by at most 8.
//
// The schoolbook packs two adjacent coefficients of a into one double,
// A[i] = a[i] + 2^26 a[i+1], so one multiply-add advances two output
// coefficients: sum_i b[i] A[k-i] = c[k] + 2^26 c[k+1]. Each c is below
// 96 * (8 * Q12) * (8 * 2) < 2^25 in magnitude, so the lanes separate exactly.

const N = 768;
const BASE = 96;
const LANE = 2 ** 26;
const INV_LANE = 2 ** -26;
const opA = new Float64Array(N);
const opB = new Float64Array(N);
const prod = new Float64Array(2 * N);
const scratch = new Float64Array(4 * N);
// packed[BASE - 1 + j] = A[j - 1] for j in [0, BASE]; zero below and above.
const packed = new Float64Array(3 * BASE + 8);

function schoolbook(r: Float64Array, ro: number, a: Float64Array, ao: number, b: Float64Array, bo: number): void {
  const n = BASE;
  const ap = packed;
  ap[n - 1] = LANE * a[ao]!;
  for (let j = 0; j < n - 1; j++) ap[n + j] = a[ao + j]! + LANE * a[ao + j + 1]!;
  ap[2 * n - 1] = a[ao + n - 1]!;
  // Eight outputs per block, from four packed accumulators. The window
  // a0..a6 slides down ap by one per step so each A is loaded once.
  for (let k0 = 0; k0 < 2 * n; k0 += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const lo = k0 - n + 1 > 0 ? k0 - n + 1 : 0;
    const hi = k0 + 7 < n - 1 ? k0 + 7 : n - 1;
    let x = n + k0 - lo;
    let a0 = ap[x]!, a1 = ap[x + 1]!, a2 = ap[x + 2]!, a3 = ap[x + 3]!;
    let a4 = ap[x + 4]!, a5 = ap[x + 5]!, a6 = ap[x + 6]!;
    for (let i = lo; i <= hi; i++) {
      const bi = b[bo + i]!;
      s0 += bi * a0;
      s1 += bi * a2;
      s2 += bi * a4;
      s3 += bi * a6;
      a6 = a5;
      a5 = a4;
      a4 = a3;
      a3 = a2;
      a2 = a1;
      a1 = a0;
      a0 = ap[--x]!;
    }
    let h = Math.floor(s0 * INV_LANE + 0.5);
    r[ro + k0] = s0 - LANE * h;
    r[ro + k0 + 1] = h;
    h = Math.floor(s1 * INV_LANE + 0.5);
    r[ro + k0 + 2] = s1 - LANE * h;
    r[ro + k0 + 3] = h;
    h = Math.floor(s2 * INV_LANE + 0.5);
    r[ro + k0 + 4] = s2 - LANE * h;
    r[ro + k0 + 5] = h;
    h = Math.floor(s3 * INV_LANE + 0.5);
    r[ro + k0 + 6] = s3 - LANE * h;
    r[ro + k0 + 7] = h;
  }
}

/** r[ro .. ro+2n) = a[ao .. ao+n) * b[bo .. bo+n); t[to ..] is scratch (4n entries). */
function karatsuba(
  r: Float64Array, ro: number,
  a: Float64Array, ao: number,
  b: Float64Array, bo: number,
  n: number, t: Float64Array, to: number,
): void {
  if (n <= BASE) {
    schoolbook(r, ro, a, ao, b, bo);
    return;
  }
  const h = n >> 1;
  karatsuba(r, ro, a, ao, b, bo, h, t, to);
  karatsuba(r, ro + n, a, ao + h, b, bo + h, h, t, to);
  const sa = to, sb = to + h, mid = to + 2 * h;
  for (let i = 0; i < h; i++) {
    t[sa + i] = a[ao + i]! + a[ao + h + i]!;
    t[sb + i] = b[bo + i]! + b[bo + h + i]!;
  }
  karatsuba(t, mid, t, sa, t, sb, h, t, mid + n);
  for (let i = 0; i < n; i++) t[mid + i] = t[mid + i]! - r[ro + i]! - r[ro + n + i]!;
  for (let i = 0; i < n; i++) r[ro + h + i] = r[ro + h + i]! + t[mid + i]!;
}

/** prod = a * b as integer polynomials, then folded mod x^761 - x - 1 into prod[0 .. P). */
function multiplyFold(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  for (let i = 0; i < P; i++) {
    opA[i] = a[i]!;
    opB[i] = b[i]!;
  }
  karatsuba(prod, 0, opA, 0, opB, 0, N, scratch, 0);
  // x^(761+j) = x^(j+1) + x^j. The top term (index 1520) lands on 760, so
  // one pass from the top down suffices.
  for (let i = 2 * P - 2; i >= P; i--) {
    const c = prod[i]!;
    prod[i - P] = prod[i - P]! + c;
    prod[i - P + 1] = prod[i - P + 1]! + c;
  }
  return prod;
}

/** out = f * g in Rq, f with coefficients in [-Q12, Q12], g ternary. */
export function rqMulSmall(out: Int16Array, f: ArrayLike<number>, g: ArrayLike<number>): void {
  const c = multiplyFold(f, g);
  for (let i = 0; i < P; i++) out[i] = freezeQ(c[i]!);
}

/** out = f * g in R3, both ternary. */
export function r3Mul(out: Int8Array, f: ArrayLike<number>, g: ArrayLike<number>): void {
  const c = multiplyFold(f, g);
  for (let i = 0; i < P; i++) out[i] = freeze3(c[i]!);
}

/** Wipes the shared multiplication buffers, which held secret products. */
export function wipePolyBuffers(): void {
  opA.fill(0);
  opB.fill(0);
  prod.fill(0);
  scratch.fill(0);
  packed.fill(0);
}

// ---------------------------------------------------------------------------
// Inversion by constant-time "divsteps" (Bernstein–Yang), 2p - 1 iterations.
// f starts as the reversed modulus x^p - x - 1, g as the reversed input; each
// step optionally swaps (f, g), cancels g's constant term against f and
// divides g by x, while (v, r) track the Bezout coefficient. At the end v
// (reversed) is the inverse up to the scalar f[0], and the input is
// invertible exactly when delta returns to 0.

/** Scalar inverse in Z/q by Fermat: a^(q-2). The exponent is public. */
function fqRecip(a: number): number {
  let result = 1;
  let base = freezeQ(a);
  for (let e = Q - 2; e > 0; e >>= 1) {
    if (e & 1) result = freezeQ(result * base);
    base = freezeQ(base * base);
  }
  return result;
}

const qf = new Float64Array(P + 1);
const qg = new Float64Array(P + 1);
const qv = new Float64Array(P + 1);
const qr = new Float64Array(P + 1);

/**
 * out = 1 / (3 * a) in Rq, for a ternary. Rq is a field (x^761 - x - 1 is
 * irreducible mod 4591), so every nonzero a has exactly this inverse; a
 * short polynomial is never zero.
 */
export function rqRecip3(out: Int16Array, a: ArrayLike<number>): void {
  // Split in three so that the hot loop, which V8 compiles on-stack while it
  // runs, returns instead of reaching code it has no type feedback for.
  rqStart(a);
  rqDivsteps();
  rqFinish(out);
}

function rqStart(a: ArrayLike<number>): void {
  const f = qf, g = qg, v = qv, r = qr;
  f.fill(0);
  g.fill(0);
  v.fill(0);
  r.fill(0);
  f[0] = 1;
  f[P - 1] = -1;
  f[P] = -1;
  for (let i = 0; i < P; i++) g[P - 1 - i] = a[i]!;
  r[0] = fqRecip(3);
}

function rqDivsteps(): void {
  const f = qf, g = qg, v = qv, r = qr;
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    const f0: number = f[0]!, g0: number = g[0]!;
    const g0i = g0 | 0;
    // swap = delta > 0 and g0 != 0, as a 0/1 multiplier.
    const swapMask = ((-delta) >> 31) & ((g0i | -g0i) >> 31);
    const s = swapMask & 1;
    delta ^= swapMask & (delta ^ -delta);
    delta += 1;
    // With the swap folded in, the new g is (alpha*f + beta*g) / x and the
    // new r is alpha*(x*v) + beta*r, where (alpha, beta) = (-g0, f0) without
    // a swap and (g0, -f0) with one.
    const sg = 1 - 2 * s;
    const alpha = -g0 * sg, beta = f0 * sg;

    f[0] = f0 + s * (g0 - f0);
    rqStepFG(s, alpha, beta);
    rqStepVR(s, alpha, beta, loop + 1 < P ? loop + 1 : P);
    const r0 = r[0]!;
    v[0] = s * r0;
    r[0] = freezeQ(beta * r0);
  }
}

// The two inner loops are separate small functions: V8 optimizes small hot
// functions sooner and faster, which matters for the first key generation in
// a fresh process. Rounding x / q by adding and subtracting 1.5 * 2^52 is
// exact here (|x| < 2^25) and cheaper than Math.floor.

/** (f, g) <- swap if s; g <- (alpha*f + beta*g) / x, reduced. */
function rqStepFG(s: number, alpha: number, beta: number): void {
  const f = qf, g = qg;
  for (let i = 1; i <= P; i++) {
    const fi = f[i]!, gi = g[i]!;
    f[i] = fi + s * (gi - fi);
    const x = alpha * fi + beta * gi;
    g[i - 1] = x - Q * (x * INV_Q + ROUND_MAGIC - ROUND_MAGIC);
  }
  g[P] = 0;
}

/**
 * v <- x*v, (v, r) <- swap if s, r <- alpha*v + beta*r, for indices 1..top.
 * After iteration `loop` both are supported on [0, loop+1], a bound that
 * depends only on the counter; index 0 is left to the caller.
 */
function rqStepVR(s: number, alpha: number, beta: number, top: number): void {
  const v = qv, r = qr;
  for (let i = top; i > 0; i--) {
    const vi = v[i - 1]!, ri = r[i]!;
    v[i] = vi + s * (ri - vi);
    const x = alpha * vi + beta * ri;
    r[i] = x - Q * (x * INV_Q + ROUND_MAGIC - ROUND_MAGIC);
  }
}

function rqFinish(out: Int16Array): void {
  const f = qf, g = qg, v = qv, r = qr;
  const scale = fqRecip(f[0]!);
  for (let i = 0; i < P; i++) out[i] = freezeQ(scale * v[P - 1 - i]!);
  f.fill(0);
  g.fill(0);
  v.fill(0);
  r.fill(0);
}

// R3 inversion, bitsliced: a ternary polynomial is two bit planes (pos, neg)
// with value pos - neg, 32 coefficients per word, so each divstep costs a few
// dozen word operations instead of hundreds of coefficient operations.

const WORDS = 24; // 768 bits >= P + 1 coefficients
const fP = new Int32Array(WORDS), fN = new Int32Array(WORDS);
const gP = new Int32Array(WORDS), gN = new Int32Array(WORDS);
const vP = new Int32Array(WORDS), vN = new Int32Array(WORDS);
const rP = new Int32Array(WORDS), rN = new Int32Array(WORDS);

function setCoeff(pos: Int32Array, neg: Int32Array, i: number, c: number): void {
  // c in {-1, 0, 1}; bit twiddling keeps this branch-free.
  const w = i >> 5, b = i & 31;
  pos[w]! |= (c & 1 & ~(c >> 1)) << b;
  neg[w]! |= ((c >> 1) & 1) << b;
}

/** Multiplies a plane by x; words from `used` on are zero and stay so. */
function shiftUp(a: Int32Array, used: number): void {
  for (let k = used - 1; k > 0; k--) a[k] = (a[k]! << 1) | (a[k - 1]! >>> 31);
  a[0] = a[0]! << 1;
}

/**
 * out = 1 / a in R3 and returns true, or returns false when a is not
 * invertible (out is then meaningless). Only this yes/no answer leaves the
 * constant-time part, as in the reference's key generation loop.
 */
export function r3Recip(out: Int8Array, a: ArrayLike<number>): boolean {
  r3Start(a);
  const delta = r3Divsteps();
  r3Finish(out);
  return delta === 0;
}

function r3Start(a: ArrayLike<number>): void {
  for (const x of [fP, fN, gP, gN, vP, vN, rP, rN]) x.fill(0);
  setCoeff(fP, fN, 0, 1);
  setCoeff(fP, fN, P - 1, -1);
  setCoeff(fP, fN, P, -1);
  for (let i = 0; i < P; i++) setCoeff(gP, gN, P - 1 - i, a[i]!);
  setCoeff(rP, rN, 0, 1);
}

/** Runs the divsteps on the planes and returns the final delta. */
function r3Divsteps(): number {
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    // v and r are supported on [0, loop+1] after this iteration: only the
    // words up to there need work (a bound that depends only on the counter).
    const used = Math.min(WORDS, ((loop + 1) >> 5) + 1);
    shiftUp(vP, used);
    shiftUp(vN, used);
    const f0 = (fP[0]! & 1) - (fN[0]! & 1);
    const g0 = (gP[0]! & 1) - (gN[0]! & 1);
    // sign = -f0*g0 (symmetric, so it may be computed before the swap).
    const sign = 0 - Math.imul(f0, g0);
    const plus = -(sign & 1) & ~(sign >> 1);
    const minus = sign >> 1;
    const swap = ((-delta) >> 31) & -(g0 & 1);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    r3StepFG(swap, plus, minus);
    r3StepVR(swap, plus, minus, used);
  }
  return delta;
}

/** Swaps (f, g) under the mask, then g <- (g + sign*f) / x. */
function r3StepFG(swap: number, plus: number, minus: number): void {
  let prevP = 0, prevN = 0;
  for (let k = 0; k < WORDS; k++) {
    // f/g: swap, then z = g + sign*f, then g = z / x (shift down by one bit).
    let fp = fP[k]!, fn = fN[k]!, gp = gP[k]!, gn = gN[k]!;
    let t = swap & (fp ^ gp);
    fp ^= t;
    gp ^= t;
    t = swap & (fn ^ gn);
    fn ^= t;
    gn ^= t;
    fP[k] = fp;
    fN[k] = fn;
    const sp = (fp & plus) | (fn & minus);
    const sn = (fn & plus) | (fp & minus);
    const gz = ~(gp | gn), sz = ~(sp | sn);
    const zp = (gp & sz) | (sp & gz) | (gn & sn);
    const zn = (gn & sz) | (sn & gz) | (gp & sp);
    if (k > 0) {
      gP[k - 1] = (prevP >>> 1) | (zp << 31);
      gN[k - 1] = (prevN >>> 1) | (zn << 31);
    }
    prevP = zp;
    prevN = zn;
  }
  gP[WORDS - 1] = prevP >>> 1;
  gN[WORDS - 1] = prevN >>> 1;
}

/** Swaps (v, r) under the mask, then r <- r + sign*v, on the first `used` words. */
function r3StepVR(swap: number, plus: number, minus: number, used: number): void {
  for (let k = 0; k < used; k++) {
    let vp = vP[k]!, vn = vN[k]!, rp = rP[k]!, rn = rN[k]!;
    let t = swap & (vp ^ rp);
    vp ^= t;
    rp ^= t;
    t = swap & (vn ^ rn);
    vn ^= t;
    rn ^= t;
    vP[k] = vp;
    vN[k] = vn;
    const sp = (vp & plus) | (vn & minus);
    const sn = (vn & plus) | (vp & minus);
    const rz = ~(rp | rn), sz = ~(sp | sn);
    rP[k] = (rp & sz) | (sp & rz) | (rn & sn);
    rN[k] = (rn & sz) | (sn & rz) | (rp & sp);
  }
}

function r3Finish(out: Int8Array): void {
  // out[i] = f0 * v[P-1-i]; f0 = -1 exchanges the planes.
  const neg = -(fN[0]! & 1);
  for (let i = 0; i < P; i++) {
    const j = P - 1 - i, w = j >> 5, b = j & 31;
    let pb = (vP[w]! >>> b) & 1, nb = (vN[w]! >>> b) & 1;
    const t = neg & (pb ^ nb);
    pb ^= t;
    nb ^= t;
    out[i] = pb - nb;
  }
  for (const x of [fP, fN, gP, gN, vP, vN, rP, rN]) x.fill(0);
}
