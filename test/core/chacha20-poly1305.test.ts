import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { chacha20Poly1305 } from '../../src/algorithms/cipher/chacha20-poly1305.js';
import type { AeadPacketCipher } from '../../src/algorithms/types.js';
import { MacError, ProtocolError } from '../../src/errors.js';
import { toHex } from '../../src/wire/bytes.js';

// Independent, deliberately naive model of PROTOCOL.chacha20poly1305: one
// node:crypto cipher per keystream, a BigInt Poly1305, plain concatenation.
function le(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}
function slowPoly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const p = (1n << 130n) - 5n;
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, Math.min(i + 16, msg.length));
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  let t = (acc + le(key.subarray(16, 32))) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++, t >>= 8n) out[i] = Number(t & 0xffn);
  return out;
}
/** chacha20 with the original 64-bit counter || 64-bit nonce layout. */
function chacha(key: Uint8Array, seq: number, counter: number, data: Uint8Array): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(BigInt(counter), 0);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  return createCipheriv('chacha20', key, iv).update(data);
}
function referenceSeal(key: Uint8Array, seq: number, packet: Uint8Array): Buffer {
  const k2 = key.subarray(0, 32);
  const k1 = key.subarray(32, 64);
  const encLength = chacha(k1, seq, 0, packet.subarray(0, 4));
  const encPayload = chacha(k2, seq, 1, packet.subarray(4));
  const polyKey = chacha(k2, seq, 0, new Uint8Array(32));
  const tag = slowPoly1305(polyKey, Buffer.concat([encLength, encPayload]));
  return Buffer.concat([encLength, encPayload, tag]);
}

function packetOf(payloadLength: number): Uint8Array {
  const padding = 4 + ((8 - ((1 + payloadLength + 4) % 8)) % 8);
  const body = randomBytes(1 + payloadLength + padding);
  body[0] = padding;
  const packet = Buffer.alloc(4 + body.length);
  packet.writeUInt32BE(body.length, 0);
  packet.set(body, 4);
  return packet;
}
function pair(key: Uint8Array = randomBytes(64)): { key: Uint8Array; enc: AeadPacketCipher; dec: AeadPacketCipher } {
  const enc = chacha20Poly1305.create(key, new Uint8Array(0), 'encrypt') as AeadPacketCipher;
  const dec = chacha20Poly1305.create(key, new Uint8Array(0), 'decrypt') as AeadPacketCipher;
  return { key, enc, dec };
}
function assertOnlyTyped(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError);
}

test('registry entry shape', () => {
  assert.equal(chacha20Poly1305.name, 'chacha20-poly1305@openssh.com');
  assert.equal(chacha20Poly1305.keyLength, 64);
  assert.equal(chacha20Poly1305.ivLength, 0);
  assert.equal(chacha20Poly1305.blockSize, 8);
  assert.equal(chacha20Poly1305.aead, true);
  assert.equal(chacha20Poly1305.secure, true);
  const { enc } = pair();
  assert.equal(enc.kind, 'aead');
  assert.equal(enc.tagLength, 16);
  assert.equal(enc.blockSize, 8);
});

test('known answer: fixed key, sequence numbers, and packet', () => {
  // Key bytes 0..63 and a packet of bytes 0..N: the expectation comes from the
  // naive model above, which shares no code with the implementation.
  const key = Uint8Array.from({ length: 64 }, (_, i) => i);
  const packet = Uint8Array.from({ length: 36 }, (_, i) => (i * 7 + 3) & 0xff);
  packet.set([0, 0, 0, 32], 0);
  for (const seq of [0, 1, 7, 0x01020304, 0xffffffff]) {
    const { enc } = pair(key);
    assert.equal(toHex(enc.seal(seq, packet)), toHex(referenceSeal(key, seq, packet)), `seq ${seq}`);
  }
});

test('seal matches the reference model for many sizes; open inverts it', () => {
  const { key, enc, dec } = pair();
  let seq = 0xfffffff0; // crosses the uint32 wrap
  for (const payload of [0, 1, 3, 11, 12, 27, 28, 44, 59, 60, 61, 100, 1000, 4096, 32768, 70000]) {
    const packet = packetOf(payload);
    const wire = enc.seal(seq, packet);
    assert.equal(wire.length, packet.length + 16);
    assert.equal(toHex(wire), toHex(referenceSeal(key, seq >>> 0, packet)), `payload ${payload}`);
    assert.equal(dec.peekLength(seq, wire.subarray(0, 4)), packet.length - 4);
    assert.equal(toHex(dec.open(seq, wire)), toHex(packet));
    seq = (seq + 1) >>> 0;
  }
});

test('returned buffers stay valid across later calls', () => {
  const { enc, dec } = pair();
  const p1 = packetOf(100);
  const p2 = packetOf(100);
  const w1 = enc.seal(1, p1);
  const w1copy = Buffer.from(w1);
  const w2 = enc.seal(2, p2);
  assert.equal(toHex(w1), toHex(w1copy));
  const o1 = dec.open(1, w1);
  const o2 = dec.open(2, w2);
  assert.equal(toHex(o1), toHex(p1));
  assert.equal(toHex(o2), toHex(p2));
  // open does not disturb its input
  assert.equal(toHex(w1), toHex(w1copy));
});

test('peekLength without open, open without peekLength', () => {
  const { enc, dec } = pair();
  const packet = packetOf(50);
  const a = enc.seal(5, packet);
  const b = enc.seal(6, packet);
  assert.equal(dec.peekLength(6, b), packet.length - 4);
  assert.equal(toHex(dec.open(5, a)), toHex(packet)); // cache holds seq 6, not 5
  assert.equal(dec.peekLength(5, a), dec.peekLength(5, a)); // pure
});

test('any flipped bit in length, payload or tag raises MacError', () => {
  const { enc, dec } = pair();
  const packet = packetOf(64);
  const wire = enc.seal(9, packet);
  const positions = [0, 3, 4, 5, wire.length - 17, wire.length - 16, wire.length - 1];
  for (const pos of positions) {
    for (const bit of [0, 7]) {
      const bad = Uint8Array.from(wire);
      bad[pos]! ^= 1 << bit;
      assert.throws(() => dec.open(9, bad), MacError, `byte ${pos} bit ${bit}`);
    }
  }
  // wrong sequence number
  assert.throws(() => dec.open(10, wire), MacError);
  // still works on the intact packet afterwards
  assert.equal(toHex(dec.open(9, wire)), toHex(packet));
});

test('wrong lengths raise ProtocolError or MacError, nothing else', () => {
  const { enc, dec } = pair();
  const packet = packetOf(20);
  const wire = enc.seal(3, packet);
  for (const n of [0, 1, 4, 19, 20, 21, wire.length - 1]) assertOnlyTyped(() => dec.open(3, wire.subarray(0, n)));
  const longer = new Uint8Array(wire.length + 8);
  longer.set(wire);
  assertOnlyTyped(() => dec.open(3, longer));
  for (const n of [0, 3]) assertOnlyTyped(() => dec.peekLength(3, wire.subarray(0, n)));
  assertOnlyTyped(() => enc.seal(3, new Uint8Array(3)));
  assertOnlyTyped(() => chacha20Poly1305.create(new Uint8Array(32), new Uint8Array(0), 'encrypt'));
});

test('a consistent MAC with a mismatched length field is a ProtocolError', () => {
  // Seal a "packet" whose length field lies about its size: the tag verifies but open must refuse it.
  const { enc, dec } = pair();
  const packet = packetOf(20);
  const lying = Uint8Array.from(packet);
  lying[3]! += 8;
  const wire = enc.seal(4, lying);
  assert.throws(() => dec.open(4, wire), (e: unknown) => e instanceof ProtocolError && !(e instanceof MacError));
});
