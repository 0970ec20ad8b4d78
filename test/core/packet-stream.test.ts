// PacketStream's receive side: packets that straddle socket reads are copied
// into one reused buffer, shared by every stream of the process and made only
// when a packet first needs it (an idle connection should not carry 64 KiB
// it never uses), which never mixes up the bytes of packets read one after
// another, of one connection or of several.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketStream, straddleBufferLength } from '../../src/core/transport/packet-stream.js';
import type { Protection } from '../../src/core/transport/packet-protection.js';
import { RekeyPolicy } from '../../src/core/kex/rekey.js';
import { aes128Gcm, chacha20Poly1305 } from '../../src/algorithms/cipher/index.js';
import type { AeadPacketCipher, CipherAlgorithm } from '../../src/algorithms/types.js';
import { seededRandom } from '../../src/testing/random.js';
import { concatAll } from './connection-helpers.js';

function pair(alg: CipherAlgorithm, seed: number): { tx: PacketStream; rx: PacketStream } {
  const random = seededRandom(seed);
  const key = random(alg.keyLength);
  const iv = random(alg.ivLength);
  const aead = (dir: 'encrypt' | 'decrypt'): Protection => ({ kind: 'aead', cipher: alg.create(key, iv, dir) as AeadPacketCipher });
  const tx = new PacketStream(random, new RekeyPolicy({}, 0));
  const rx = new PacketStream(random, new RekeyPolicy({}, 0));
  tx.setOutgoing(aead('encrypt'), 'none', Infinity, false);
  rx.setIncoming(aead('decrypt'), 'none', Infinity, false);
  return { tx, rx };
}

/** The wire bytes of everything `tx` queued, as one buffer. */
const drain = (tx: PacketStream): Uint8Array => concatAll(tx.outbound.splice(0));

for (const alg of [aes128Gcm, chacha20Poly1305]) {
  test(`${alg.name}: whole packets in one read need no scratch buffer`, () => {
    const { tx, rx } = pair(alg, 1);
    const before = straddleBufferLength();
    for (let i = 0; i < 20; i++) {
      tx.write(Uint8Array.from([94, i, 1, 2, 3]));
      rx.inbound.push(drain(tx));
      const p = rx.read();
      assert.deepEqual([...p!.payload], [94, i, 1, 2, 3]);
    }
    assert.equal(straddleBufferLength(), before, 'no buffer made or grown for packets that never straddled a read');
  });

  test(`${alg.name}: packets split at every possible point come out whole and in order, scratch reused`, () => {
    const { tx, rx } = pair(alg, 2);
    const random = seededRandom(3);
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      const p = random(1 + (random(2)[1]! << 4) + (i % 7) * 3000);
      p[0] = 94;
      payloads.push(p);
      tx.write(p);
    }
    const wire = drain(tx);
    // Feed the stream in pieces of varied size, reading what is complete after each.
    const got: Uint8Array[] = [];
    let at = 0;
    let step = 1;
    while (at < wire.length) {
      const n = Math.min(wire.length - at, step);
      rx.inbound.push(wire.slice(at, at + n));
      at += n;
      step = (step * 7 + 13) % 9001 || 1;
      // A payload may live in the reused buffer: copy it before the next read.
      for (let r = rx.read(); r; r = rx.read()) got.push(Uint8Array.from(r.payload));
    }
    assert.equal(got.length, payloads.length);
    for (let i = 0; i < payloads.length; i++) assert.deepEqual(got[i], payloads[i], `packet ${i}`);
    assert.ok(straddleBufferLength() >= 64 * 1024, 'straddling packets got the reused buffer');
  });

  test(`${alg.name}: several connections' straddling packets, read in turns, share the buffer and the sealers' frame without mixing`, () => {
    const pairs = [pair(alg, 11), pair(alg, 12), pair(alg, 13)];
    const random = seededRandom(14);
    const sent: Uint8Array[][] = pairs.map(() => []);
    const got: Uint8Array[][] = pairs.map(() => []);
    // Writes interleaved across the connections (the sealers share one frame, and
    // chacha20-poly1305 ciphers one seal scratch), sizes from tiny to 40 KiB.
    for (let i = 0; i < 40; i++) {
      for (const [k, { tx }] of pairs.entries()) {
        const p = random(1 + ((i * 7919 + k * 104729) % 40000));
        p[0] = 94;
        sent[k]!.push(p);
        tx.write(p);
      }
    }
    const wires = pairs.map(({ tx }) => drain(tx));
    const at = pairs.map(() => 0);
    let step = 5;
    // Each connection gets a piece in turn, so a packet of one is half in the
    // shared buffer's place while another's is read.
    while (at.some((a, k) => a < wires[k]!.length)) {
      for (const [k, { rx }] of pairs.entries()) {
        const wire = wires[k]!;
        if (at[k]! >= wire.length) continue;
        const n = Math.min(wire.length - at[k]!, step);
        rx.inbound.push(wire.slice(at[k]!, at[k]! + n));
        at[k]! += n;
        step = (step * 31 + 17) % 50021 || 1;
        for (let r = rx.read(); r; r = rx.read()) got[k]!.push(Uint8Array.from(r.payload));
      }
    }
    for (const k of pairs.keys()) {
      assert.equal(got[k]!.length, sent[k]!.length, `connection ${k}`);
      for (let i = 0; i < sent[k]!.length; i++) assert.deepEqual(got[k]![i], sent[k]![i], `connection ${k}, packet ${i}`);
    }
  });
}

test('sealers drawing from one random source share one padding pool; every padding byte is used once', () => {
  const draws: number[] = [];
  let counter = 0;
  // Distinct bytes (mod 256) so that a byte handed out twice would show.
  const random = (n: number): Uint8Array => {
    draws.push(n);
    return Uint8Array.from({ length: n }, () => counter++ & 0xff);
  };
  const streams = Array.from({ length: 50 }, () => new PacketStream(random, new RekeyPolicy({}, 0)));
  const paddings: number[] = [];
  for (const s of streams) {
    s.write(Uint8Array.from([2, 0, 0, 0, 0]));
    const wire = s.outbound.splice(0)[0]!;
    const padLength = wire[4]!;
    paddings.push(...wire.subarray(wire.length - padLength));
  }
  assert.deepEqual(draws, [4096], 'one draw for all fifty connections, not a 4 KiB pool each');
  assert.deepEqual(paddings, paddings.map((_, i) => i & 0xff), 'consecutive, never repeated');
});
