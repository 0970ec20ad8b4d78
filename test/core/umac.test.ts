import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/errors.js';
import { toHex, utf8 } from '../../src/wire/bytes.js';
import { Umac } from '../../src/crypto/umac.js';
import { l3, nhPair, P36, poly64KeyLimbs, poly64Step } from '../../src/crypto/umac-arith.js';

const KEY = utf8('abcdefghijklmnop');

/** `pattern` repeated and cut to `length` bytes. */
function repeat(pattern: string, length: number): Uint8Array {
  const p = utf8(pattern);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = p[i % p.length]!;
  return out;
}

function big(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

// RFC 4418 Appendix, key "abcdefghijklmnop", nonce "bcdefghi". The 'a' * 2^25
// values are the corrected ones from the RFC errata; the 128-bit tags are full
// length (the RFC table shows only 96 bits of them).
const rfcVectors: [string, number, string, string][] = [
  ['a', 0, '6e155fad26900be1', '32fedb100c79ad58f07ff7643cc60465'],
  ['a', 3, '44b5cb542f220104', '185e4fe905cba7bd85e4c2dc3d117d8d'],
  ['a', 1 << 10, '26bf2f5d60118bd9', '7a54abe04af82d60fb298c3cbd195bcb'],
  ['a', 1 << 15, '27f8ef643b0d118d', '7b136bd911e4b734286ef2be501f2c3c'],
  ['a', 1 << 20, 'a4477e87e9f55853', 'f8acfa3ac31cfeea047f7b115b03bef5'],
  ['a', 1 << 25, 'faca46f856e9b45f', 'a621c2457c0012e64f3fdae9e7e1870c'],
  ['abc', 3, 'd4d7b9f6bd4fbfcf', '883c3d4b97a61976ffcf232308cba5a5'],
  ['abc', 1500, 'd4cf26ddefd5c01a', '8824a260c53c66a36c9260a62cb83aa1'],
];

test('UMAC-64 and UMAC-128 match the RFC 4418 test vectors', () => {
  const u64 = new Umac(KEY, 8);
  const u128 = new Umac(KEY, 16);
  const nonce = utf8('bcdefghi');
  for (const [pattern, length, t64, t128] of rfcVectors) {
    const m = repeat(pattern, length);
    assert.equal(toHex(u64.mac(m, nonce)), t64, `UMAC-64 '${pattern}' * ${length}`);
    assert.equal(toHex(u128.mac(m, nonce)), t128, `UMAC-128 '${pattern}' * ${length}`);
  }
});

// Nettle's testsuite/umac-test.c: every nonce length from 1 to 16 and message
// lengths around the 1 KiB chunk and the 16 MiB (64- to 128-bit polynomial)
// boundaries. Message: "def" repeated.
const boundaryVectors: [string, number, string, string][] = [
  ['b', 0, '9e38f67da91a08d9', '9e38f67da91a08d9c980f4db4089c877'],
  ['bc', 1, 'fb0e207971b8e66a', 'ef406c2ec70d0222f59e860eabb79ed0'],
  ['bcd', 2, '1ae6e02d73aa9ab2', '1ae6e02d73aa9ab2a27fb89e014dc07b'],
  ['bcde', 3, 'c81cf22342e84302', '82626d0d575e01038e5e2cc6408216f5'],
  ['bcdef', 4, 'aba003e7bd673cc3', 'aba003e7bd673cc368ba8513cecf2e7c'],
  ['bcdefg', 1020, 'f98828a161bb4ae3', 'd8b4811f747d588d7a913360960de7cf'],
  ['bcdefgh', 1021, '2d54936be5bff72d', '2d54936be5bff72d2e1052361163b474'],
  ['bcdefghi', 1022, '2cee9784556387b3', '700513397f8a210a98938d3e7ac3bd88'],
  ['bcdefghij', 1023, '24ac4284ca371f42', '24ac4284ca371f4280f60bd274633d67'],
  ['bcdefghijk', 1024, '64c6a0fd14615a76', 'abc223116cedd2db5af365e641a97539'],
  ['bcdefghijkl', 1025, '93251e18e56bbdc4', '93251e18e56bbdc457de556f95c59931'],
  ['bcdefghijklm', 1026, '5d98bd8dfaf16352', 'c1298672e52386753383a15ed58c0e42'],
  ['bcdefghijklmn', 1027, '5b0557c9fdcf661b', '5b0557c9fdcf661b1758efc603516ebe'],
  ['bcdefghijklmno', 2046, '65e85d47447c2277', '16bb5183017826ed47c9995c1e5834f3'],
  ['bcdefghijklmnop', 2047, '34d723a6cb1676d3', '34d723a6cb1676d3547a5064dc5b0a37'],
  ['bcdefghijklmnopq', 2048, '3968d5d0af147884', '84565620def1e3a614d274e87626f215'],
  ['b', 2049, 'ad1ee4ab606061c5', 'ad1ee4ab606061c55e0d2ecfee59940a'],
  ['bc', 2050, '835f4a8242100055', '971106d5f4a5e41dce40a91704cfe1f3'],
  ['bcd', 16777212, '7ef41cf351960aaf', '7ef41cf351960aaf729bb19fcee7d8c4'],
  ['bcdefg', 16777215, '6be0ebda623d76df', '4adc426477fb64b1ce5afd76d505f048'],
  ['bcdefgh', 16777216, '42d8562a224a9e9a', '42d8562a224a9e9a75c2f85d39462d07'],
  ['bcdefghi', 16777217, '374f09dbb0b84b88', '6ba48d669a51ed3195ebc2aa562ee71b'],
  ['bcdefghijk', 16778240, 'e1974b26fb35f2c6', '2e93c8ca83b97a6b1a21082e2a4c540d'],
  ['bcdefghijklmno', 16778244, '04f163b7c2d5d849', '77a26f7387d1dcd39378a3220652cff7'],
];

test('UMAC handles every nonce length and the chunk and polynomial boundaries', () => {
  const u64 = new Umac(KEY, 8);
  const u128 = new Umac(KEY, 16);
  const longest = repeat('def', 16778244);
  for (const [nonce, length, t64, t128] of boundaryVectors) {
    const m = longest.subarray(0, length);
    assert.equal(toHex(u64.mac(m, utf8(nonce))), t64, `UMAC-64 nonce ${nonce} length ${length}`);
    assert.equal(toHex(u128.mac(m, utf8(nonce))), t128, `UMAC-128 nonce ${nonce} length ${length}`);
  }
});

test('unaligned and aligned views of the same bytes give the same tag', () => {
  const u = new Umac(randomBytes(16), 16);
  const nonce = randomBytes(8);
  for (const length of [0, 5, 1024, 3000, 40000]) {
    const data = randomBytes(length);
    const aligned = new Uint8Array(new ArrayBuffer(length + 8), 4, length);
    aligned.set(data);
    const odd = new Uint8Array(new ArrayBuffer(length + 8), 3, length);
    odd.set(data);
    assert.deepEqual(u.mac(odd, nonce), u.mac(aligned, nonce));
    assert.deepEqual(u.mac(data, nonce), u.mac(aligned, nonce));
  }
});

test('the pad cache never changes a tag, whatever order nonces come in', () => {
  const key = randomBytes(16);
  for (const tagLength of [8, 16] as const) {
    const cached = new Umac(key, tagLength);
    const msg = randomBytes(100);
    const nonces: Uint8Array[] = [];
    const seq = (n: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(4, n >>> 0);
      return b;
    };
    for (let n = 0; n < 300; n++) nonces.push(seq(n)); // runs through several batches and a last-byte wrap
    nonces.push(seq(7), seq(6), seq(0xffffffff), seq(0x1ff), seq(0x200), randomBytes(8), utf8('bcd'), randomBytes(16), seq(8));
    for (const n of nonces) {
      const fresh = new Umac(key, tagLength);
      assert.deepEqual(cached.mac(msg, n), fresh.mac(msg, n), `nonce ${toHex(n)}`);
    }
  }
});

test('bad keys and nonces raise ProtocolError', () => {
  assert.throws(() => new Umac(new Uint8Array(15), 8), ProtocolError);
  assert.throws(() => new Umac(new Uint8Array(32), 16), ProtocolError);
  assert.throws(() => new Umac(new Uint8Array(16), 12 as 8), ProtocolError);
  const u = new Umac(new Uint8Array(16), 8);
  assert.throws(() => u.mac(new Uint8Array(10), new Uint8Array(0)), ProtocolError);
  assert.throws(() => u.mac(new Uint8Array(10), new Uint8Array(17)), ProtocolError);
});

test('NH matches a BigInt reference for both streams of a pair, including all-ones words', () => {
  const M64 = (1n << 64n) - 1n;
  const reference = (m: Uint32Array, k: Uint32Array, kOff: number, nWords: number): bigint => {
    let y = 0n;
    for (let i = 0; i < nWords; i += 8) {
      for (let j = 0; j < 4; j++) {
        const a = BigInt((m[i + j]! + k[kOff + i + j]!) >>> 0);
        const b = BigInt((m[i + j + 4]! + k[kOff + i + j + 4]!) >>> 0);
        y += a * b;
      }
    }
    return (y + BigInt(nWords * 32)) & M64;
  };
  for (let t = 0; t < 300; t++) {
    const m = new Uint32Array(randomBytes(1024).buffer.slice(0));
    const k = new Uint32Array(randomBytes(1024 + 48).buffer.slice(0));
    if (t % 3 === 0) m.fill(0xffffffff);
    if (t % 5 === 0) k.fill(0xffffffff);
    const nWords = 8 * (1 + (t % 32));
    const kOff = (t % 4) * 4;
    const out = new Float64Array(4);
    nhPair(m, 0, nWords, k, kOff, nWords * 32, out, 0);
    assert.equal((BigInt(out[0]!) << 32n) | BigInt(out[1]!), reference(m, k, kOff, nWords));
    assert.equal((BigInt(out[2]!) << 32n) | BigInt(out[3]!), reference(m, k, kOff + 4, nWords));
  }
});

test('the 64-bit polynomial step matches a BigInt reference, marker words included', () => {
  const P = (1n << 64n) - 59n;
  for (let t = 0; t < 3000; t++) {
    const keyBytes = t % 7 === 0 ? new Uint8Array(8).fill(0xff) : randomBytes(8);
    const limbs = new Float64Array(4);
    poly64KeyLimbs(keyBytes, 0, limbs, 0);
    const k = big(keyBytes) & 0x01ffffff01ffffffn;
    let y = big(randomBytes(8)) % P;
    if (t % 5 === 0) y = P - 1n;
    let m = big(randomBytes(8));
    if (t % 4 === 0) m = (1n << 64n) - 1n - BigInt(t % 100); // at or above 2^64 - 2^32
    if (t % 4 === 1) m = (1n << 64n) - (1n << 32n) - 1n; // just below the marker range
    const st = new Float64Array([Number(y >> 32n), Number(y & 0xffffffffn)]);
    poly64Step(st, 0, limbs, 0, Number(m >> 32n), Number(m & 0xffffffffn));
    let want: bigint;
    if (m >= (1n << 64n) - (1n << 32n)) {
      want = (k * y + P - 1n) % P;
      want = (k * want + m - 59n) % P;
    } else {
      want = (k * y + m) % P;
    }
    assert.equal((BigInt(st[0]!) << 32n) | BigInt(st[1]!), want);
  }
});

test('L3 matches a BigInt reference', () => {
  const p36 = BigInt(P36);
  for (let t = 0; t < 1000; t++) {
    const words = new Uint32Array(randomBytes(16).buffer.slice(0));
    if (t % 4 === 0) words.fill(0xffffffff);
    const keys = new Float64Array(8);
    for (let i = 0; i < 8; i++) keys[i] = t % 6 === 0 ? P36 - 1 : Number(big(randomBytes(8)) % p36);
    const k2 = randomBytes(4).readUInt32BE(0);
    let y = 0n;
    for (let i = 0; i < 8; i++) {
      const w = words[i >> 1]!;
      const half = i % 2 === 0 ? w >>> 16 : w & 0xffff;
      y = (y + BigInt(half) * BigInt(keys[i]!)) % p36;
    }
    const want = Number(y & 0xffffffffn) ^ k2;
    assert.equal(l3(words[0]!, words[1]!, words[2]!, words[3]!, keys, 0, k2), want >>> 0);
  }
});
