// src/crypto/mlkem768.ts against @noble/post-quantum (the implementation the
// hybrid used before), byte for byte: keys from the same seed, ciphertexts and
// secrets from the same message, implicit rejection of altered ciphertexts;
// and the checks on what comes from the peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import {
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  MLKEM768_SECRET_KEY_BYTES,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768KeyPair,
} from '../../src/crypto/mlkem768.js';
import { mlkem768 } from '../../src/algorithms/kex/hybrid.js';
import { KeyExchangeError } from '../../src/errors.js';
import { seededRandom } from '../../src/testing/random.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('key pairs, ciphertexts and shared secrets equal @noble/post-quantum ML-KEM-768 for 40 random seeds', () => {
  for (let n = 0; n < 40; n++) {
    const seed = randomBytes(64);
    const mine = mlkem768KeyPair(seed);
    const ref = ml_kem768.keygen(seed);
    assert.equal(mine.publicKey.length, MLKEM768_PUBLIC_KEY_BYTES);
    assert.equal(mine.secretKey.length, MLKEM768_SECRET_KEY_BYTES);
    assert.equal(hex(mine.publicKey), hex(ref.publicKey));
    assert.equal(hex(mine.secretKey), hex(ref.secretKey));
    const m = randomBytes(32);
    const enc = mlkem768Encapsulate(mine.publicKey, m);
    const refEnc = ml_kem768.encapsulate(ref.publicKey, m);
    assert.equal(enc.ciphertext.length, MLKEM768_CIPHERTEXT_BYTES);
    assert.equal(hex(enc.ciphertext), hex(refEnc.cipherText));
    assert.equal(hex(enc.sharedSecret), hex(refEnc.sharedSecret));
    assert.equal(hex(mlkem768Decapsulate(enc.ciphertext, mine.secretKey)), hex(enc.sharedSecret));
  }
});

test('a fixed seed gives the same keys every time (a regression anchor)', () => {
  const seed = new Uint8Array(64).map((_, i) => i);
  const { publicKey, secretKey } = mlkem768KeyPair(seed);
  const ref = ml_kem768.keygen(seed);
  assert.equal(createHash('sha256').update(publicKey).digest('hex'), createHash('sha256').update(ref.publicKey).digest('hex'));
  assert.equal(hex(secretKey), hex(ref.secretKey));
});

test('an altered ciphertext decapsulates to the implicit-rejection secret, as the reference does', () => {
  const { publicKey, secretKey } = mlkem768KeyPair(randomBytes(64));
  const { ciphertext, sharedSecret } = mlkem768Encapsulate(publicKey, randomBytes(32));
  for (let n = 0; n < 200; n++) {
    const bad = Uint8Array.from(ciphertext);
    const at = (n * 37) % bad.length;
    bad[at] = bad[at]! ^ (1 << (n % 8));
    const got = mlkem768Decapsulate(bad, secretKey);
    assert.notEqual(hex(got), hex(sharedSecret));
    assert.equal(hex(got), hex(ml_kem768.decapsulate(bad, secretKey)));
  }
});

test('wrong lengths and a public key failing the modulus check are RangeErrors', () => {
  const { publicKey, secretKey } = mlkem768KeyPair(randomBytes(64));
  assert.throws(() => mlkem768KeyPair(new Uint8Array(63)), RangeError);
  assert.throws(() => mlkem768Encapsulate(publicKey.subarray(1), randomBytes(32)), RangeError);
  assert.throws(() => mlkem768Encapsulate(publicKey, randomBytes(31)), RangeError);
  assert.throws(() => mlkem768Decapsulate(new Uint8Array(MLKEM768_CIPHERTEXT_BYTES + 1), secretKey), RangeError);
  assert.throws(() => mlkem768Decapsulate(new Uint8Array(MLKEM768_CIPHERTEXT_BYTES), secretKey.subarray(1)), RangeError);
  const bad = Uint8Array.from(publicKey);
  bad[0] = 0xff;
  bad[1] = 0x0f; // first coefficient 4095 >= q
  assert.throws(() => mlkem768Encapsulate(bad, randomBytes(32)), /modulus/);
  assert.throws(() => ml_kem768.encapsulate(bad, randomBytes(32)));
});

test('random, truncated and bit-flipped public keys: a result or a RangeError, never anything else', () => {
  const { publicKey } = mlkem768KeyPair(randomBytes(64));
  const inputs: Uint8Array[] = [];
  for (let n = 0; n < 300; n++) {
    const k = Uint8Array.from(publicKey);
    const at = (n * 101) % k.length;
    k[at] = k[at]! ^ (1 << (n % 8));
    inputs.push(k, publicKey.subarray(0, (n * 13) % publicKey.length), randomBytes(n % 3 === 0 ? MLKEM768_PUBLIC_KEY_BYTES : n * 5));
  }
  for (const k of inputs) {
    try {
      const { ciphertext } = mlkem768Encapsulate(k, randomBytes(32));
      assert.equal(ciphertext.length, MLKEM768_CIPHERTEXT_BYTES);
    } catch (err) {
      assert.ok(err instanceof RangeError, String(err));
    }
  }
});

test('the hybrid KEM wraps it: a bad client public key is a KeyExchangeError, a round trip agrees', () => {
  const r = seededRandom(7);
  const pair = mlkem768.keyPair(r);
  const enc = mlkem768.encapsulate(pair.publicKey, r);
  assert.equal(hex(pair.decapsulate(enc.ciphertext)), hex(enc.sharedSecret));
  const bad = Uint8Array.from(pair.publicKey);
  bad[0] = 0xff;
  bad[1] = 0xff;
  assert.throws(() => mlkem768.encapsulate(bad, r), KeyExchangeError);
});
