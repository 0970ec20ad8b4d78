import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { MacError, ProtocolError } from '../../src/errors.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';
import type { AeadPacketCipher, BlockPacketCipher, CipherAlgorithm } from '../../src/algorithms/types.js';
import { aes128Gcm, aes256Gcm } from '../../src/algorithms/cipher/aes-gcm.js';
import { aes128Ctr, aes192Ctr, aes256Ctr } from '../../src/algorithms/cipher/aes-ctr.js';
import { aes128Cbc, aes256Cbc } from '../../src/algorithms/cipher/aes-cbc.js';
import { cipherAlgorithms, findCipher } from '../../src/algorithms/cipher/index.js';

/** A plaintext SSH packet whose `padding_length || payload || padding` fills whole 16-byte blocks. */
function packet(payload: Uint8Array): Uint8Array {
  let pad = 16 - ((1 + payload.length) % 16);
  if (pad < 4) pad += 16;
  const length = 1 + payload.length + pad;
  const out = new Uint8Array(4 + length);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = pad;
  out.set(payload, 5);
  out.set(randomBytes(pad), 5 + payload.length);
  return out;
}

function aead(alg: CipherAlgorithm, key: Uint8Array, iv: Uint8Array, dir: 'encrypt' | 'decrypt'): AeadPacketCipher {
  const c = alg.create(key, iv, dir);
  assert.equal(c.kind, 'aead');
  return c as AeadPacketCipher;
}

function block(alg: CipherAlgorithm, key: Uint8Array, iv: Uint8Array, dir: 'encrypt' | 'decrypt'): BlockPacketCipher {
  const c = alg.create(key, iv, dir);
  assert.equal(c.kind, 'block');
  return c as BlockPacketCipher;
}

/** Independent AES-GCM of one SSH packet straight from node:crypto. */
function manualGcm(bits: 128 | 256, key: Uint8Array, nonce: Uint8Array, pkt: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${bits}-gcm`, key, nonce, { authTagLength: 16 });
  c.setAAD(pkt.subarray(0, 4));
  const body = Buffer.concat([c.update(pkt.subarray(4)), c.final()]);
  return Buffer.concat([pkt.subarray(0, 4), body, c.getAuthTag()]);
}

const isProtocolNotMac = (e: unknown) => e instanceof ProtocolError && !(e instanceof MacError);

for (const [alg, bits] of [[aes128Gcm, 128], [aes256Gcm, 256]] as const) {
  test(`${alg.name}: parameters`, () => {
    assert.equal(alg.keyLength, bits / 8);
    assert.equal(alg.ivLength, 12);
    assert.equal(alg.blockSize, 16);
    assert.equal(alg.aead, true);
    assert.equal(alg.secure, true);
  });

  test(`${alg.name}: seal/open round trip over many packets`, () => {
    const key = randomBytes(alg.keyLength);
    const iv = randomBytes(12);
    const tx = aead(alg, key, iv, 'encrypt');
    const rx = aead(alg, key, iv, 'decrypt');
    assert.equal(tx.tagLength, 16);
    assert.equal(tx.blockSize, 16);
    for (let i = 0; i < 50; i++) {
      const pkt = packet(randomBytes(i * 37));
      const wire = tx.seal(i, pkt);
      assert.equal(wire.length, pkt.length + 16);
      assert.deepEqual(new Uint8Array(wire.subarray(0, 4)), pkt.subarray(0, 4), 'length is sent in clear');
      assert.equal(rx.peekLength(i, wire.subarray(0, 4)), pkt.length - 4);
      assert.deepEqual(new Uint8Array(rx.open(i, wire)), pkt);
    }
  });

  test(`${alg.name}: invocation counter advances after every packet`, () => {
    const key = randomBytes(alg.keyLength);
    const iv = fromHex('0102030400000000000000ff');
    const pkt = packet(new TextEncoder().encode('same packet every time'));
    const tx = aead(alg, key, iv, 'encrypt');
    const first = tx.seal(0, pkt);
    const second = tx.seal(1, pkt);
    const third = tx.seal(2, pkt);
    assert.notDeepEqual(first, second);
    assert.deepEqual(new Uint8Array(first), new Uint8Array(manualGcm(bits, key, iv, pkt)));
    // The counter is a 64-bit big-endian integer, so 0xff carries into the next byte.
    assert.deepEqual(new Uint8Array(second), new Uint8Array(manualGcm(bits, key, fromHex('010203040000000000000100'), pkt)));
    assert.deepEqual(new Uint8Array(third), new Uint8Array(manualGcm(bits, key, fromHex('010203040000000000000101'), pkt)));
    // The caller's IV buffer is not modified.
    assert.equal(toHex(iv), '0102030400000000000000ff');
    // A fresh sealer with the same key and IV starts over from the same nonce.
    assert.deepEqual(aead(alg, key, iv, 'encrypt').seal(0, pkt), first);
  });

  test(`${alg.name}: counter wraps modulo 2^64 without touching the fixed field`, () => {
    const key = randomBytes(alg.keyLength);
    const pkt = packet(new Uint8Array([1, 2, 3]));
    const tx = aead(alg, key, fromHex('aabbccddffffffffffffffff'), 'encrypt');
    tx.seal(0, pkt);
    assert.deepEqual(new Uint8Array(tx.seal(1, pkt)), new Uint8Array(manualGcm(bits, key, fromHex('aabbccdd0000000000000000'), pkt)));
  });

  test(`${alg.name}: a changed byte anywhere fails with MacError`, () => {
    const key = randomBytes(alg.keyLength);
    const iv = randomBytes(12);
    const tx = aead(alg, key, iv, 'encrypt');
    const rx = aead(alg, key, iv, 'decrypt');
    const pkt = packet(randomBytes(100));
    const wire = tx.seal(3, pkt);
    for (const at of [4, 20, wire.length - 17, wire.length - 16, wire.length - 1]) {
      const bad = Uint8Array.from(wire);
      bad[at]! ^= 0x01;
      assert.throws(() => rx.open(3, bad), MacError, `flip at ${at}`);
    }
    // A failed packet does not consume a nonce, so the genuine one still opens.
    assert.deepEqual(new Uint8Array(rx.open(3, wire)), pkt);
    // A packet sealed under the next nonce does not open under this one.
    const rx2 = aead(alg, key, iv, 'decrypt');
    const wire2 = tx.seal(4, pkt);
    assert.throws(() => rx2.open(4, wire2), MacError);
  });

  test(`${alg.name}: wrong lengths are ProtocolErrors, not MacErrors or crashes`, () => {
    const key = randomBytes(alg.keyLength);
    const iv = randomBytes(12);
    const tx = aead(alg, key, iv, 'encrypt');
    const rx = aead(alg, key, iv, 'decrypt');
    const wire = tx.seal(0, packet(randomBytes(40)));
    assert.throws(() => rx.open(0, wire.subarray(0, wire.length - 1)), isProtocolNotMac);
    assert.throws(() => rx.open(0, Uint8Array.from([...wire, 0])), isProtocolNotMac);
    assert.throws(() => rx.open(0, wire.subarray(0, 3)), isProtocolNotMac);
    assert.throws(() => rx.open(0, new Uint8Array(0)), isProtocolNotMac);
    // packet_length not a multiple of the block size, zero, and absurdly large.
    for (const len of [17, 0, 0xffffffff, 0x80000000]) {
      const bad = new Uint8Array(4 + 32 + 16);
      new DataView(bad.buffer).setUint32(0, len);
      assert.throws(() => rx.open(0, bad), isProtocolNotMac, `length ${len}`);
    }
    assert.throws(() => rx.peekLength(0, new Uint8Array(3)), isProtocolNotMac);
    for (const head of ['ffffffff', '00000011', '00000000', '00040010']) {
      assert.throws(() => rx.peekLength(0, fromHex(head)), isProtocolNotMac, head);
    }
    assert.equal(rx.peekLength(0, fromHex('00040000')), 256 * 1024);
    // Sealing a malformed packet is refused too.
    const p = packet(randomBytes(10));
    assert.throws(() => tx.seal(1, p.subarray(0, p.length - 1)), ProtocolError);
    assert.throws(() => alg.create(new Uint8Array(5), iv, 'encrypt'), ProtocolError);
    assert.throws(() => alg.create(key, new Uint8Array(16), 'encrypt'), ProtocolError);
  });
}

test('AES-CTR: NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt)', () => {
  const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
  const iv = fromHex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  const plain = fromHex(
    '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51' +
      '30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
  );
  const expected =
    '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff' +
    '5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee';
  // Fed one block per call, to check the counter carries over between calls.
  const enc = block(aes128Ctr, key, iv, 'encrypt');
  const out = [0, 16, 32, 48].map((o) => toHex(enc.update(plain.subarray(o, o + 16)))).join('');
  assert.equal(out, expected);
  const dec = block(aes128Ctr, key, iv, 'decrypt');
  assert.equal(toHex(dec.update(fromHex(expected))), toHex(plain));
});

test('AES-CTR: the counter is a 128-bit integer that wraps to zero', () => {
  const key = randomBytes(16);
  const enc = block(aes128Ctr, key, new Uint8Array(16).fill(0xff), 'encrypt');
  const ks = enc.update(new Uint8Array(32));
  const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  assert.equal(toHex(ks.subarray(16)), toHex(ecb.update(new Uint8Array(16))));
});

for (const alg of [aes128Ctr, aes192Ctr, aes256Ctr, aes128Cbc, aes256Cbc]) {
  test(`${alg.name}: state continues across update() calls`, () => {
    assert.equal(alg.ivLength, 16);
    assert.equal(alg.blockSize, 16);
    assert.equal(alg.aead, false);
    const key = randomBytes(alg.keyLength);
    const iv = randomBytes(16);
    const data = randomBytes(16 * 20);
    const whole = block(alg, key, iv, 'encrypt').update(data);
    const split = block(alg, key, iv, 'encrypt');
    const parts = [split.update(data.subarray(0, 16)), split.update(data.subarray(16, 16 * 7)), split.update(new Uint8Array(0)), split.update(data.subarray(16 * 7))];
    assert.equal(toHex(Buffer.concat(parts)), toHex(whole));
    assert.equal(whole.length, data.length, 'no padding added');
    const dec = block(alg, key, iv, 'decrypt');
    const back = Buffer.concat([dec.update(whole.subarray(0, 48)), dec.update(whole.subarray(48))]);
    assert.equal(toHex(back), toHex(data));
  });

  test(`${alg.name}: unaligned input and bad key sizes are ProtocolErrors`, () => {
    const c = block(alg, randomBytes(alg.keyLength), randomBytes(16), 'decrypt');
    assert.throws(() => c.update(new Uint8Array(15)), ProtocolError);
    assert.throws(() => alg.create(new Uint8Array(alg.keyLength + 1), randomBytes(16), 'encrypt'), ProtocolError);
    assert.throws(() => alg.create(randomBytes(alg.keyLength), new Uint8Array(12), 'encrypt'), ProtocolError);
  });
}

test('AES-CBC matches a plain CBC chain over packets', () => {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const a = randomBytes(64);
  const b = randomBytes(32);
  const enc = block(aes256Cbc, key, iv, 'encrypt');
  const got = Buffer.concat([enc.update(a), enc.update(b)]);
  const ref = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  assert.equal(toHex(got), toHex(Buffer.concat([ref.update(a), ref.update(b)])));
});

test('cipher registry: OpenSSH default order, CBC last and legacy', () => {
  assert.deepEqual(
    cipherAlgorithms.map((c) => c.name),
    [
      'chacha20-poly1305@openssh.com',
      'aes128-gcm@openssh.com',
      'aes256-gcm@openssh.com',
      'aes128-ctr',
      'aes192-ctr',
      'aes256-ctr',
      'aes128-cbc',
      'aes256-cbc',
    ],
  );
  assert.deepEqual(
    cipherAlgorithms.filter((c) => !c.secure).map((c) => c.name),
    ['aes128-cbc', 'aes256-cbc'],
  );
  assert.deepEqual(
    cipherAlgorithms.filter((c) => c.aead).map((c) => c.name),
    ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
  );
  for (const c of cipherAlgorithms) assert.equal(findCipher(c.name), c);
  assert.equal(findCipher('aes128-gcm'), undefined);
  assert.equal(findCipher('3des-cbc'), undefined);
  assert.equal(findCipher('aes192-ctr')?.keyLength, 24);
});
