import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SNTRUP761_CIPHERTEXT_BYTES, SNTRUP761_PUBLIC_KEY_BYTES, SNTRUP761_SECRET_KEY_BYTES, SNTRUP761_SHARED_BYTES,
  sntrup761Decap, sntrup761Encap, sntrup761KeyPair,
} from '../../src/crypto/sntrup761.js';
import { P, Q, freeze3, freezeQ, r3Mul, r3Recip, rqMulSmall, rqRecip3 } from '../../src/crypto/sntrup761-poly.js';
import { KeyExchangeError } from '../../src/errors.js';
import { toHex } from '../../src/wire/bytes.js';

interface Case {
  keypairSeed: string;
  encapSeed: string;
  zeroGFirst?: boolean;
  publicKeySha256: string;
  secretKeySha256: string;
  ciphertextSha256: string;
  publicKeyHead: string;
  ciphertextHead: string;
  sharedSecret: string;
  tamperedSharedSecret: string;
}

function loadVectors(): Case[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [
    join(here, 'vectors/sntrup761.json'), // run from source
    join(here, '../../../test/core/vectors/sntrup761.json'), // run from dist/test/core
    join(process.cwd(), 'test/core/vectors/sntrup761.json'),
  ];
  const path = candidates.find((p) => existsSync(p));
  assert.ok(path, 'sntrup761.json vectors not found');
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: Case[] }).cases;
}

/**
 * The harness's randombytes: SHA-256(seed || uint32be(counter)) blocks as one
 * stream, optionally preceded by `prefix`.
 */
function seededStream(seed: string, prefix: Uint8Array = new Uint8Array(0)): (n: number) => Uint8Array {
  let counter = 0;
  let block = prefix;
  let pos = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (pos === block.length) {
        const ctr = Buffer.alloc(4);
        ctr.writeUInt32BE(counter++);
        block = createHash('sha256').update(seed).update(ctr).digest();
        pos = 0;
      }
      out[i] = block[pos++]!;
    }
    return out;
  };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('sntrup761 sizes', () => {
  assert.equal(SNTRUP761_PUBLIC_KEY_BYTES, 1158);
  assert.equal(SNTRUP761_SECRET_KEY_BYTES, 1763);
  assert.equal(SNTRUP761_CIPHERTEXT_BYTES, 1039);
  assert.equal(SNTRUP761_SHARED_BYTES, 32);
});

test('sntrup761 known answers from the OpenSSH reference', () => {
  for (const v of loadVectors()) {
    // 0x20000000 maps to the coefficient 0: an all-zero g must be rejected and redrawn.
    const prefix = new Uint8Array(v.zeroGFirst ? 4 * P : 0);
    for (let i = 3; i < prefix.length; i += 4) prefix[i] = 0x20;
    const { publicKey, secretKey } = sntrup761KeyPair(seededStream(v.keypairSeed, prefix));
    assert.equal(publicKey.length, SNTRUP761_PUBLIC_KEY_BYTES);
    assert.equal(secretKey.length, SNTRUP761_SECRET_KEY_BYTES);
    assert.equal(toHex(publicKey.subarray(0, 32)), v.publicKeyHead, `${v.keypairSeed}: public key`);
    assert.equal(sha256(publicKey), v.publicKeySha256, `${v.keypairSeed}: public key`);
    assert.equal(sha256(secretKey), v.secretKeySha256, `${v.keypairSeed}: secret key`);

    const { ciphertext, sharedSecret } = sntrup761Encap(publicKey, seededStream(v.encapSeed));
    assert.equal(toHex(ciphertext.subarray(0, 32)), v.ciphertextHead, `${v.encapSeed}: ciphertext`);
    assert.equal(sha256(ciphertext), v.ciphertextSha256, `${v.encapSeed}: ciphertext`);
    assert.equal(toHex(sharedSecret), v.sharedSecret);
    assert.equal(toHex(sntrup761Decap(ciphertext, secretKey)), v.sharedSecret);

    const tampered = Uint8Array.from(ciphertext);
    tampered[5]! ^= 0x10;
    assert.equal(toHex(sntrup761Decap(tampered, secretKey)), v.tamperedSharedSecret);
  }
});

test('sntrup761 round trip with random seeds; tampering is rejected implicitly', () => {
  for (let i = 0; i < 12; i++) {
    const seed = randomBytes(16).toString('hex');
    const { publicKey, secretKey } = sntrup761KeyPair(seededStream(`kp-${seed}`));
    const { ciphertext, sharedSecret } = sntrup761Encap(publicKey, seededStream(`enc-${seed}`));
    assert.deepEqual(sntrup761Decap(ciphertext, secretKey), sharedSecret, `seed ${seed}`);

    // Flip a bit in the rounded part and in the confirmation hash: each must
    // give a different secret without throwing, and the same one every time.
    for (const at of [i * 37 % 1007, 1007 + (i % 32)]) {
      const bad = Uint8Array.from(ciphertext);
      bad[at]! ^= 1 << (i % 8);
      const k1 = sntrup761Decap(bad, secretKey);
      assert.equal(k1.length, 32);
      assert.notDeepEqual(k1, sharedSecret, `seed ${seed}, byte ${at}`);
      assert.deepEqual(sntrup761Decap(bad, secretKey), k1);
    }
  }
});

test('sntrup761 with the system random source', () => {
  const { publicKey, secretKey } = sntrup761KeyPair(randomBytes);
  const { ciphertext, sharedSecret } = sntrup761Encap(publicKey, randomBytes);
  assert.deepEqual(sntrup761Decap(ciphertext, secretKey), sharedSecret);
});

test('sntrup761 rejects wrong lengths with KeyExchangeError', () => {
  const { publicKey, secretKey } = sntrup761KeyPair(randomBytes);
  const { ciphertext } = sntrup761Encap(publicKey, randomBytes);
  assert.throws(() => sntrup761Encap(publicKey.subarray(1), randomBytes), KeyExchangeError);
  assert.throws(() => sntrup761Encap(new Uint8Array(0), randomBytes), /public key must be 1158 bytes, got 0 bytes/);
  assert.throws(() => sntrup761Decap(ciphertext.subarray(0, 1038), secretKey), KeyExchangeError);
  assert.throws(() => sntrup761Decap(new Uint8Array(1040), secretKey), /ciphertext must be 1039 bytes/);
  assert.throws(() => sntrup761Decap(ciphertext, new Uint8Array(1762)), /secret key must be 1763 bytes/);
  assert.throws(() => sntrup761KeyPair(() => new Uint8Array(3)), KeyExchangeError);
});

test('sntrup761 reduction helpers are exact on their domains', () => {
  for (let x = -16383; x <= 16383; x++) {
    const r = freeze3(x);
    assert.ok(r >= -1 && r <= 1 && (x - r) % 3 === 0, `freeze3(${x})`);
  }
  for (const x of [0, 1, -1, Q, -Q, 2295, 2296, -2296, 3 * Q * Q, -(Q * Q) - 7, 2 ** 31, -(2 ** 31)]) {
    const r = freezeQ(x);
    assert.ok(r >= -2295 && r <= 2295 && (x - r) % Q === 0, `freezeQ(${x})`);
  }
});

// Slow schoolbook product mod (x^P - x - 1, m), centred.
function naiveMul(a: ArrayLike<number>, b: ArrayLike<number>, m: number): number[] {
  const c = new Array<number>(2 * P - 1).fill(0);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) c[i + j]! += a[i]! * b[j]!;
  for (let i = 2 * P - 2; i >= P; i--) {
    c[i - P]! += c[i]!;
    c[i - P + 1]! += c[i]!;
  }
  return c.slice(0, P).map((x) => {
    const r = ((x % m) + m) % m;
    return r > (m - 1) / 2 ? r - m : r;
  });
}

test('sntrup761 polynomial multiplication and inversion', () => {
  const rnd = seededStream('poly');
  const bytes = rnd(4 * P);
  const f = Int16Array.from({ length: P }, (_, i) => (((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) % Q) - 2295));
  const g = Int8Array.from({ length: P }, (_, i) => (bytes[2 * P + i]! % 3) - 1);
  const h = Int8Array.from({ length: P }, (_, i) => (bytes[3 * P + i]! % 3) - 1);
  const out = new Int16Array(P);
  rqMulSmall(out, f, g);
  assert.deepEqual(Array.from(out), naiveMul(f, g, Q));
  const out3 = new Int8Array(P);
  r3Mul(out3, g, h);
  assert.deepEqual(Array.from(out3), naiveMul(g, h, 3));

  // 1/(3g) times g is 1/3 mod q.
  const inv = new Int16Array(P);
  rqRecip3(inv, g);
  rqMulSmall(out, inv, g);
  assert.deepEqual(Array.from(out), [freezeQ(3061), ...new Array<number>(P - 1).fill(0)]);

  // Mod 3: either invertible with a correct inverse, or reported as not.
  let inverted = 0;
  for (let k = 0; k < 8; k++) {
    const a = Int8Array.from(rnd(P), (x) => (x % 3) - 1);
    const ainv = new Int8Array(P);
    if (r3Recip(ainv, a)) {
      inverted++;
      r3Mul(out3, a, ainv);
      assert.deepEqual(Array.from(out3), [1, ...new Array<number>(P - 1).fill(0)]);
    }
  }
  assert.ok(inverted > 0);
  const zero = new Int8Array(P);
  assert.equal(r3Recip(new Int8Array(P), zero), false);
  const one = new Int8Array(P);
  one[0] = 1;
  assert.equal(r3Recip(out3, one), true);
  assert.deepEqual(Array.from(out3), [1, ...new Array<number>(P - 1).fill(0)]);
});
