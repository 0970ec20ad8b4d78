// Generates src/crypto/poly1305.wasm.ts: a Poly1305 (RFC 8439) kernel written
// directly as WebAssembly. There is no .wat text: the module is described
// below with a tiny expression builder and encoded to binary by this script,
// so no assembler dependency is needed. Run: node scripts/build-poly1305.mjs
//
// Design (numbers in the comments are bounds that keep every sum in 64 bits):
// - the accumulator h and the key r use radix 2^26 (five limbs);
// - messages of four or more blocks run two interleaved lanes in SIMD: lane A
//   takes the odd blocks, lane B the even ones, both multiplied by r^2 each
//   step; the last step multiplies lane A by r^2 and lane B by r, and the
//   lanes are then summed. i64x2.extmul_low/high_i32x4_u gives two 32x32->64
//   products per instruction;
// - the rest (odd block, partial block, finalisation) is scalar i64 code.
//
// Memory layout (offsets in bytes): 0..31 key r||s, 32..47 tag out,
// 48..63 scratch for the padded last block, 64..207 SIMD multipliers,
// MSG (256) onwards the message.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ------------------------------------------------------------ encoding

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(v) {
  let n = BigInt(v);
  const out = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}
const vec = (items) => [...uleb(items.length), ...items.flat()];
const str = (s) => vec([...Buffer.from(s, 'utf8')]);
const section = (id, body) => [id, ...uleb(body.length), ...body];
const T = { i32: 0x7f, i64: 0x7e, v128: 0x7b };

// ------------------------------------------------------------ expression builder
// Every helper returns a flat byte array; a Local used as an operand becomes local.get.

class Local {
  constructor(idx, type) {
    this.idx = idx;
    this.type = type;
  }
}
const code = (x) => (x instanceof Local ? [0x20, ...uleb(x.idx)] : typeof x === 'number' ? [] : x);
const seq = (...parts) => parts.flatMap((p) => code(p));
const op = (byte) => (...args) => [...seq(...args), byte];
const simd = (n, ...imm) => (...args) => [...seq(...args), 0xfd, ...uleb(n), ...imm];
const mem = (align, offset) => [...uleb(align), ...uleb(offset)];

const set = (l, v) => [...code(v), 0x21, ...uleb(l.idx)];
const tee = (l, v) => [...code(v), 0x22, ...uleb(l.idx)];
const i32 = (n) => [0x41, ...sleb(n)];
const i64 = (n) => [0x42, ...sleb(n)];

const I32 = {
  add: op(0x6a), sub: op(0x6b), and: op(0x71), or: op(0x72), shl: op(0x74), shr: op(0x76),
  eqz: op(0x45), ltU: op(0x49), geU: op(0x4f), gtU: op(0x4b),
  load: (a, off = 0) => [...code(a), 0x28, ...mem(2, off)],
  store: (a, v, off = 0) => [...seq(a, v), 0x36, ...mem(2, off)],
  load8: (a, off = 0) => [...code(a), 0x2d, ...mem(0, off)],
  store8: (a, v, off = 0) => [...seq(a, v), 0x3a, ...mem(0, off)],
  wrap: op(0xa7),
};
const I64 = {
  add: (...xs) => xs.slice(1).reduce((acc, x) => [...acc, ...code(x), 0x7c], code(xs[0])),
  sub: op(0x7d), mul: op(0x7e), and: op(0x83), or: op(0x84), xor: op(0x85),
  shl: op(0x86), shrS: op(0x87), shr: op(0x88),
  load: (a, off = 0) => [...code(a), 0x29, ...mem(3, off)],
  load32: (a, off = 0) => [...code(a), 0x35, ...mem(2, off)],
  store: (a, v, off = 0) => [...seq(a, v), 0x37, ...mem(3, off)],
  store32: (a, v, off = 0) => [...seq(a, v), 0x3e, ...mem(2, off)],
  extU: op(0xad),
};
const V = {
  load: (a, off = 0) => [...code(a), 0xfd, 0x00, ...mem(4, off)],
  shuffle: (lanes) => (a, b) => [...seq(a, b), 0xfd, 0x0d, ...lanes],
  add: (...xs) => xs.slice(1).reduce((acc, x) => [...acc, ...code(x), 0xfd, ...uleb(206)], code(xs[0])),
  and: simd(78), or: simd(80),
  shl: simd(203), shr: simd(205),
  splat64: simd(18), splat32: simd(17),
  replace32: (lane) => simd(28, lane),
  replace64: (lane) => simd(30, lane),
  extract64: (lane) => simd(29, lane),
  mulLo: simd(222), mulHi: simd(223),
  zero: () => [0xfd, 0x0c, ...new Array(16).fill(0)],
};
const block = (...body) => [0x02, 0x40, ...seq(...body), 0x0b];
const loop = (...body) => [0x03, 0x40, ...seq(...body), 0x0b];
const ifThen = (cond, ...body) => [...code(cond), 0x04, 0x40, ...seq(...body), 0x0b];
const br = (depth) => [0x0c, ...uleb(depth)];
const brIf = (depth, cond) => [...code(cond), 0x0d, ...uleb(depth)];

class Func {
  constructor(name, params) {
    this.name = name;
    this.params = params.map((t, i) => new Local(i, T[t]));
    this.locals = [];
    this.body = [];
  }
  local(type) {
    const l = new Local(this.params.length + this.locals.length, T[type]);
    this.locals.push(l);
    return l;
  }
  locals64(n) {
    return Array.from({ length: n }, () => this.local('i64'));
  }
  emit(...parts) {
    this.body.push(...seq(...parts));
  }
  encode() {
    const decls = this.locals.map((l) => [1, l.type]);
    const body = [...vec(decls), ...this.body, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

// ------------------------------------------------------------ the Poly1305 kernel

const KEY = 0;
const TAG = 32;
const PAD = 48;
const TV = 64; // 9 x 16 bytes: the SIMD multiplier vectors T_{-4..4}
export const MSG = 256;
const M26 = 0x3ffffff;

const HSTATE = 208; // 5 x i64: the accumulator between calls of a chunked message

const f = new Func('mac', ['i32', 'i32', 'i32']); // (msgOffset, length, flags: 1 = first chunk, 2 = last chunk)
const [ptr, len, flags] = f.params;
const h = f.locals64(5);
const r = f.locals64(5);
const s = f.locals64(5); // s[i] = 5 * r[i]; s[0] unused
const q = f.locals64(5); // r^2
const d = f.locals64(5);
const [c, lo, hi] = f.locals64(3);
const end = f.local('i32');
const tail = f.local('i32');

// Split the 16 bytes `lo||hi` into five 26-bit limbs and add them to h; `top`
// is the 2^128 bit (1<<24 in limb 4) or 0 for the padded last block.
const absorb = (top) => [
  set(h[0], I64.add(h[0], I64.and(lo, i64(M26)))),
  set(h[1], I64.add(h[1], I64.and(I64.shr(lo, i64(26)), i64(M26)))),
  set(h[2], I64.add(h[2], I64.and(I64.or(I64.shr(lo, i64(52)), I64.shl(hi, i64(12))), i64(M26)))),
  set(h[3], I64.add(h[3], I64.and(I64.shr(hi, i64(14)), i64(M26)))),
  set(h[4], I64.add(h[4], top ? I64.or(I64.shr(hi, i64(40)), i64(1 << 24)) : I64.shr(hi, i64(40)))),
];

// x = x * k mod p, partially reduced (limbs below 2^26 except x1 slightly above).
// k, ks = limbs of the multiplier and 5x them. Inputs below 2^27 keep each
// product sum under 2^58.
const mulInto = (x, k, ks) => {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const terms = [0, 1, 2, 3, 4].map((j) => I64.mul(x[j], i - j >= 0 ? k[i - j] : ks[i - j + 5]));
    out.push(set(d[i], I64.add(...terms)));
  }
  out.push(
    set(c, I64.shr(d[0], i64(26))), set(x[0], I64.and(d[0], i64(M26))),
    set(d[1], I64.add(d[1], c)), set(c, I64.shr(d[1], i64(26))), set(x[1], I64.and(d[1], i64(M26))),
    set(d[2], I64.add(d[2], c)), set(c, I64.shr(d[2], i64(26))), set(x[2], I64.and(d[2], i64(M26))),
    set(d[3], I64.add(d[3], c)), set(c, I64.shr(d[3], i64(26))), set(x[3], I64.and(d[3], i64(M26))),
    set(d[4], I64.add(d[4], c)), set(c, I64.shr(d[4], i64(26))), set(x[4], I64.and(d[4], i64(M26))),
    set(x[0], I64.add(x[0], I64.mul(c, i64(5)))),
    set(c, I64.shr(x[0], i64(26))), set(x[0], I64.and(x[0], i64(M26))),
    set(x[1], I64.add(x[1], c)),
  );
  return out;
};

// --- key setup: clamp r, s = 5r; load or reset the accumulator
f.emit(
  set(lo, I64.load(i32(KEY))), set(hi, I64.load(i32(KEY), 8)),
  set(r[0], I64.and(lo, i64(0x3ffffff))),
  set(r[1], I64.and(I64.shr(lo, i64(26)), i64(0x3ffff03))),
  set(r[2], I64.and(I64.or(I64.shr(lo, i64(52)), I64.shl(hi, i64(12))), i64(0x3ffc0ff))),
  set(r[3], I64.and(I64.shr(hi, i64(14)), i64(0x3f03fff))),
  set(r[4], I64.and(I64.shr(hi, i64(40)), i64(0x00fffff))),
);
for (let i = 1; i < 5; i++) f.emit(set(s[i], I64.mul(r[i], i64(5))));
f.emit(
  ifThen(I32.eqz(I32.and(flags, i32(1))),
    ...[0, 1, 2, 3, 4].map((i) => set(h[i], I64.load(i32(HSTATE + 8 * i)))),
  ),
);

// ------------------------------------------------------------ SIMD two-lane part
// POLY_NO_SIMD=1 builds a scalar-only kernel (about 1.6x slower here), for comparison.
const SIMD = !process.env.POLY_NO_SIMD;
if (SIMD) {
  const qs = f.locals64(5);
  const H = Array.from({ length: 5 }, () => f.local('v128'));
  const D = Array.from({ length: 5 }, () => f.local('v128'));
  const [P01, P23, P4, vlo, vhi, vc, a, b] = Array.from({ length: 8 }, () => f.local('v128'));
  const pairs = f.local('i32');
  // Kept in memory rather than locals: V8 otherwise rebuilds them inside the loop.
  const Tv = (j) => V.load(i32(TV + 16 * (j + 4)));
  // coefficient t_j of the multiplier: limb j for j >= 0, 5*limb(j+5) below
  const coef = (k, ks, j) => (j >= 0 ? k[j] : ks[j + 5]);
  // T_j = [t_j(A), t_j(B), t_{j-1}(A), t_{j-1}(B)] as u32 lanes
  const buildT = (kA, ksA, kB, ksB) => {
    const out = [];
    for (let j = -4; j <= 4; j++) {
      const lane = (kk, kks, jj) => (jj < -4 ? i32(0) : I32.wrap(coef(kk, kks, jj)));
      let v = V.splat32(i32(0));
      v = V.replace32(0)(v, lane(kA, ksA, j));
      v = V.replace32(1)(v, lane(kB, ksB, j));
      v = V.replace32(2)(v, lane(kA, ksA, j - 1));
      v = V.replace32(3)(v, lane(kB, ksB, j - 1));
      out.push([...i32(TV + 16 * (j + 4)), ...v, 0xfd, 0x0b, ...mem(4, 0)]);
    }
    return out;
  };
  const pack = V.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
  const lo64 = V.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  const hi64 = V.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]);
  const m26 = V.splat64(i64(M26));
  // One step: lane A absorbs the block at ptr, lane B the one after it; both
  // are then multiplied by their T multipliers.
  const step = () => [
    set(a, V.load(ptr)), set(b, V.load(ptr, 16)),
    set(vlo, lo64(a, b)), set(vhi, hi64(a, b)),
    set(H[0], V.add(H[0], V.and(vlo, m26))),
    set(H[1], V.add(H[1], V.and(V.shr(vlo, i32(26)), m26))),
    set(H[2], V.add(H[2], V.and(V.or(V.shr(vlo, i32(52)), V.shl(vhi, i32(12))), m26))),
    set(H[3], V.add(H[3], V.and(V.shr(vhi, i32(14)), m26))),
    set(H[4], V.add(H[4], V.or(V.shr(vhi, i32(40)), V.splat64(i64(1 << 24))))),
    set(P01, pack(H[0], H[1])), set(P23, pack(H[2], H[3])), set(P4, pack(H[4], H[4])),
    ...[0, 1, 2, 3, 4].map((k) =>
      set(D[k], V.add(V.mulLo(P01, Tv(k)), V.mulHi(P01, Tv(k)), V.mulLo(P23, Tv(k - 2)), V.mulHi(P23, Tv(k - 2)), V.mulLo(P4, Tv(k - 4)))),
    ),
    // two interleaved carry chains (d0->d1->d2->d3 and d3->d4->d0) keep latency short
    set(vc, V.shr(D[0], i32(26))), set(H[0], V.and(D[0], m26)), set(D[1], V.add(D[1], vc)),
    set(vc, V.shr(D[3], i32(26))), set(H[3], V.and(D[3], m26)), set(D[4], V.add(D[4], vc)),
    set(vc, V.shr(D[1], i32(26))), set(H[1], V.and(D[1], m26)), set(D[2], V.add(D[2], vc)),
    set(vc, V.shr(D[4], i32(26))), set(H[4], V.and(D[4], m26)), set(H[0], V.add(H[0], vc, V.shl(vc, i32(2)))),
    set(vc, V.shr(D[2], i32(26))), set(H[2], V.and(D[2], m26)), set(H[3], V.add(H[3], vc)),
    set(vc, V.shr(H[0], i32(26))), set(H[0], V.and(H[0], m26)), set(H[1], V.add(H[1], vc)),
    set(vc, V.shr(H[3], i32(26))), set(H[3], V.and(H[3], m26)), set(H[4], V.add(H[4], vc)),
    set(ptr, I32.add(ptr, i32(32))),
  ];
  f.emit(
    ifThen(I32.geU(len, i32(64)),
      ...[0, 1, 2, 3, 4].map((i) => set(q[i], r[i])),
      ...mulInto(q, r, s),
      ...[1, 2, 3, 4].map((i) => set(qs[i], I64.mul(q[i], i64(5)))),
      ...buildT(q, qs, q, qs),
      // the running accumulator enters lane A, which is multiplied by r^2 at every step
      ...H.map((x, i) => set(x, V.replace64(0)(V.zero(), h[i]))),
      set(pairs, I32.shr(len, i32(5))),
      set(len, I32.and(len, i32(31))),
      block(loop(
        brIf(1, I32.eqz(tee(pairs, I32.sub(pairs, i32(1))))),
        ...step(),
        br(0),
      )),
      ...buildT(q, qs, r, s),
      ...step(),
      ...[0, 1, 2, 3, 4].map((i) => set(h[i], I64.add(V.extract64(0)(H[i]), V.extract64(1)(H[i])))),
    ),
  );
}

// ------------------------------------------------------------ scalar blocks
f.emit(
  set(end, I32.add(ptr, I32.and(len, i32(~15)))),
  set(tail, I32.and(len, i32(15))),
  block(loop(
    brIf(1, I32.geU(ptr, end)),
    set(lo, I64.load(ptr)), set(hi, I64.load(ptr, 8)),
    ...absorb(true),
    ...mulInto(h, r, s),
    set(ptr, I32.add(ptr, i32(16))),
    br(0),
  )),
  ifThen(tail,
    // copy the tail into a zeroed 16-byte block and append the 0x01 byte
    I64.store(i32(PAD), i64(0)), I64.store(i32(PAD), i64(0), 8),
    set(end, i32(0)),
    block(loop(
      brIf(1, I32.geU(end, tail)),
      I32.store8(I32.add(end, i32(PAD)), I32.load8(I32.add(ptr, end))),
      set(end, I32.add(end, i32(1))),
      br(0),
    )),
    I32.store8(I32.add(tail, i32(PAD)), i32(1)),
    set(lo, I64.load(i32(PAD))), set(hi, I64.load(i32(PAD), 8)),
    ...absorb(false),
    ...mulInto(h, r, s),
  ),
  // not the last chunk: keep the accumulator for the next call
  ifThen(I32.eqz(I32.and(flags, i32(2))),
    ...[0, 1, 2, 3, 4].map((i) => I64.store(i32(HSTATE + 8 * i), h[i])),
    [0x0f],
  ),
);

// ------------------------------------------------------------ finalisation
// Fully carry, subtract p if h >= p (selected by mask, not by branch), add s.
// h can arrive with any limb a little above 2^26 (the SIMD lanes are summed
// without a carry), so two complete carry rounds plus a last h0 -> h1 step
// leave every limb canonical before the bits are packed.
const g = d;
const carryRound = () => [
  set(c, I64.shr(h[0], i64(26))), set(h[0], I64.and(h[0], i64(M26))),
  set(h[1], I64.add(h[1], c)), set(c, I64.shr(h[1], i64(26))), set(h[1], I64.and(h[1], i64(M26))),
  set(h[2], I64.add(h[2], c)), set(c, I64.shr(h[2], i64(26))), set(h[2], I64.and(h[2], i64(M26))),
  set(h[3], I64.add(h[3], c)), set(c, I64.shr(h[3], i64(26))), set(h[3], I64.and(h[3], i64(M26))),
  set(h[4], I64.add(h[4], c)), set(c, I64.shr(h[4], i64(26))), set(h[4], I64.and(h[4], i64(M26))),
  set(h[0], I64.add(h[0], I64.mul(c, i64(5)))),
];
f.emit(
  ...carryRound(),
  ...carryRound(),
  set(c, I64.shr(h[0], i64(26))), set(h[0], I64.and(h[0], i64(M26))), set(h[1], I64.add(h[1], c)),
  set(g[0], I64.add(h[0], i64(5))), set(c, I64.shr(g[0], i64(26))), set(g[0], I64.and(g[0], i64(M26))),
  set(g[1], I64.add(h[1], c)), set(c, I64.shr(g[1], i64(26))), set(g[1], I64.and(g[1], i64(M26))),
  set(g[2], I64.add(h[2], c)), set(c, I64.shr(g[2], i64(26))), set(g[2], I64.and(g[2], i64(M26))),
  set(g[3], I64.add(h[3], c)), set(c, I64.shr(g[3], i64(26))), set(g[3], I64.and(g[3], i64(M26))),
  set(g[4], I64.sub(I64.add(h[4], c), i64(1 << 26))),
  // c = all ones when g4 < 0 (h < p: keep h), zero otherwise (take g)
  set(c, I64.shrS(g[4], i64(63))),
  ...[0, 1, 2, 3, 4].map((i) => set(h[i], I64.or(I64.and(h[i], c), I64.and(g[i], I64.xor(c, i64(-1)))))),
);
// Build the four 32-bit words of h mod 2^128 and add s with carry.
const w = (i) =>
  I64.and(i64(0xffffffff), [
    I64.or(h[0], I64.shl(h[1], i64(26))),
    I64.or(I64.shr(h[1], i64(6)), I64.shl(h[2], i64(20))),
    I64.or(I64.shr(h[2], i64(12)), I64.shl(h[3], i64(14))),
    I64.or(I64.shr(h[3], i64(18)), I64.shl(h[4], i64(8))),
  ][i]);
f.emit(set(c, i64(0)));
for (let i = 0; i < 4; i++) {
  f.emit(
    set(c, I64.add(w(i), I64.load32(i32(KEY + 16 + 4 * i)), I64.shr(c, i64(32)))),
    I64.store32(i32(TAG + 4 * i), c),
  );
}

// ------------------------------------------------------------ module
const funcs = [f];
const typeSec = section(1, vec(funcs.map((fn) => [0x60, ...vec(fn.params.map((p) => p.type)), 0])));
const funcSec = section(3, vec(funcs.map((_, i) => uleb(i))));
const PAGES = 2;
const memSec = section(5, vec([[0x00, ...uleb(PAGES)]]));
const exportSec = section(7, vec([...funcs.map((fn, i) => [...str(fn.name), 0x00, ...uleb(i)]), [...str('memory'), 0x02, 0]]));
const codeSec = section(10, vec(funcs.map((fn) => fn.encode())));
const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...typeSec, ...funcSec, ...memSec, ...exportSec, ...codeSec]);

if (!WebAssembly.validate(bytes)) throw new Error('generated module does not validate');
const b64 = Buffer.from(bytes).toString('base64');
const out = `// Generated by scripts/build-poly1305.mjs; do not edit by hand.
// Poly1305 kernel (WebAssembly, ${bytes.length} bytes). Exports: memory (${PAGES} pages),
// mac(msgOffset, length, flags) with flags 1 = first chunk, 2 = last chunk; every
// chunk but the last must be a multiple of 16 bytes. Key r||s at offset 0, tag
// written at ${TAG}, chunks are placed from offset ${MSG}.
export const POLY1305_WASM_BASE64 =
  '${b64}';
export const POLY1305_MSG_OFFSET = ${MSG};
export const POLY1305_TAG_OFFSET = ${TAG};
export const POLY1305_MEMORY_BYTES = ${PAGES * 65536};
`;
const target = process.argv[2] ?? fileURLToPath(new URL('../src/crypto/poly1305.wasm.ts', import.meta.url));
writeFileSync(target, out);
console.log(`wrote ${target} (${bytes.length} bytes)`);
