import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { poly1305, poly1305Parts } from '../../src/crypto/poly1305.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';

// Slow, obviously-correct reference straight from RFC 8439 §2.5.1, on BigInt.
function le(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}
function referencePoly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const p = (1n << 130n) - 5n;
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, Math.min(i + 16, msg.length));
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  let t = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

const IETF_TEXT =
  'Any submission to the IETF intended by the Contributor for publication as all or part of an IETF Internet-Draft ' +
  'or RFC and any statement made within the context of an IETF activity is considered an "IETF Contribution". Such ' +
  'statements include oral statements in IETF sessions, as well as written and electronic communications made at ' +
  'any time or place, which are addressed to';
const TWAS =
  "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the borogoves,\nAnd the mome raths outgrabe.";
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const Z16 = '00'.repeat(16);

test('RFC 8439 §2.5.2 example', () => {
  const key = fromHex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
  assert.equal(toHex(poly1305(key, ascii('Cryptographic Forum Research Group'))), 'a8061dc1305136c6c22b8baf0c0127a9');
});

test('RFC 8439 Appendix A.3 vectors', () => {
  assert.equal(IETF_TEXT.length, 375);
  assert.equal(TWAS.length, 127);
  const cases: [string, Uint8Array, string][] = [
    ['00'.repeat(32), new Uint8Array(64), Z16],
    [Z16 + '36e5f6b5c5e06070f0efca96227a863e', ascii(IETF_TEXT), '36e5f6b5c5e06070f0efca96227a863e'],
    ['36e5f6b5c5e06070f0efca96227a863e' + Z16, ascii(IETF_TEXT), 'f3477e7cd95417af89a6b8794c310cf0'],
    ['1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0', ascii(TWAS), '4541669a7eaaee61e708dc7cbcc5eb62'],
    ['02' + '00'.repeat(15) + Z16, fromHex('ff'.repeat(16)), '03' + '00'.repeat(15)],
    ['02' + '00'.repeat(15) + 'ff'.repeat(16), fromHex('02' + '00'.repeat(15)), '03' + '00'.repeat(15)],
    ['01' + '00'.repeat(15) + Z16, fromHex('ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15)), '05' + '00'.repeat(15)],
    ['01' + '00'.repeat(15) + Z16, fromHex('ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16)), Z16],
    ['02' + '00'.repeat(15) + Z16, fromHex('fd' + 'ff'.repeat(15)), 'fa' + 'ff'.repeat(15)],
    [
      '01000000000000000400000000000000' + Z16,
      fromHex('e33594d7505e43b90000000000000000' + '3394d7505e4379cd0100000000000000' + Z16 + '01' + '00'.repeat(15)),
      '14000000000000005500000000000000',
    ],
    [
      '01000000000000000400000000000000' + Z16,
      fromHex('e33594d7505e43b90000000000000000' + '3394d7505e4379cd0100000000000000' + Z16),
      '13' + '00'.repeat(15),
    ],
  ];
  cases.forEach(([key, msg, tag], i) => {
    assert.equal(toHex(poly1305(fromHex(key), msg)), tag, `A.3 #${i + 1}`);
    assert.equal(toHex(referencePoly1305(fromHex(key), msg)), tag, `reference, A.3 #${i + 1}`);
  });
});

test('matches the BigInt reference for every length up to 300 and random keys', () => {
  for (let len = 0; len <= 300; len++) {
    const key = randomBytes(32);
    const msg = randomBytes(len);
    assert.equal(toHex(poly1305(key, msg)), toHex(referencePoly1305(key, msg)), `length ${len}`);
  }
});

test('extreme limb values: all-ones keys and messages', () => {
  for (const len of [15, 16, 17, 63, 64, 65, 95, 96, 97, 1000, 4099]) {
    const key = new Uint8Array(32).fill(0xff);
    const msg = new Uint8Array(len).fill(0xff);
    assert.equal(toHex(poly1305(key, msg)), toHex(referencePoly1305(key, msg)), `length ${len}`);
  }
});

test('sparse keys and messages near the modulus (carry edge cases, both code paths)', () => {
  const rs = ['01', '02', '0100000000000000' + '04', 'ffffff0f' + 'fcffff0f'.repeat(3), '00000000' + '00000000' + '00000000' + '04000000'];
  const blocks = ['ff'.repeat(16), 'fb' + 'fe'.repeat(15), '01'.repeat(16), 'fd' + 'ff'.repeat(15), '00'.repeat(16), 'e33594d7505e43b9' + '00'.repeat(8)];
  let n = 0;
  for (const r of rs) {
    const key = new Uint8Array(32);
    key.set(Buffer.from(r, 'hex'));
    for (let len = 16; len <= 160; len += 16) {
      for (let k = 0; k < 6; k++) {
        const msg = new Uint8Array(len);
        for (let i = 0; i < len; i += 16) msg.set(Buffer.from(blocks[(i / 16 + k + n) % blocks.length]!, 'hex'), i);
        for (const cut of [0, 1, 15]) {
          const m = msg.subarray(0, len - cut);
          assert.equal(toHex(poly1305(key, m)), toHex(referencePoly1305(key, m)), `r=${r} len=${m.length} k=${k}`);
        }
        n++;
      }
    }
  }
});

test('long messages cross the kernel chunk size', () => {
  for (const len of [32768, 32772, 65535, 65536, 65537, 65536 * 2 + 3, 200001]) {
    const key = randomBytes(32);
    const msg = randomBytes(len);
    assert.equal(toHex(poly1305(key, msg)), toHex(referencePoly1305(key, msg)), `length ${len}`);
  }
});

test('poly1305Parts equals the tag of the concatenation', () => {
  const key = randomBytes(32);
  for (const [a, b, c] of [[0, 0, 0], [4, 100, 0], [3, 65536, 17], [65535, 2, 65536], [70000, 1, 1]] as const) {
    const parts = [randomBytes(a), randomBytes(b), randomBytes(c)];
    const whole = Buffer.concat(parts);
    const out = new Uint8Array(20);
    poly1305Parts(key, parts, out, 4);
    assert.equal(toHex(out.subarray(4)), toHex(referencePoly1305(key, whole)));
  }
});

test('rejects a key of the wrong size', () => {
  assert.throws(() => poly1305(new Uint8Array(31), new Uint8Array(1)), RangeError);
});
