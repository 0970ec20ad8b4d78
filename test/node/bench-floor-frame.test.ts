// The floor bench's packet framing (bench/floor-frame.ts): what the sealer
// writes the opener gives back, whatever pieces the stream arrives in, and the
// opener refuses what is not a packet of ours (a bad length, a bad tag, a
// random stream) with an error rather than a crash or a hang. No timing here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FloorFrameError, FloorOpener, FloorSealer, FLOOR_MODES, MAX_DATA, packetLength } from '../../bench/floor-frame.js';

function sealAll(sealer: FloorSealer, pieces: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const p of pieces) {
    p.copy(sealer.data);
    out.push(...sealer.seal(p.length));
  }
  return Buffer.concat(out);
}

test('packet lengths are whole blocks with at least 4 bytes of padding', () => {
  for (let n = 1; n <= 200; n++) {
    const len = packetLength(n);
    assert.equal(len % 16, 0);
    const pad = len - 10 - n;
    assert.ok(pad >= 4 && pad < 20, `n=${n} pad=${pad}`);
  }
});

for (const mode of FLOOR_MODES) {
  test(`${mode}: sealed data comes back through any split of the stream`, () => {
    const pieces = [1, 100, MAX_DATA, 4095, MAX_DATA - 1, 17].map((n) => randomBytes(n));
    const wire = sealAll(new FloorSealer(mode), pieces);
    for (const step of [1, 3, 16, 4096, 40000, wire.length]) {
      const got: Buffer[] = [];
      const opener = new FloorOpener(mode, (d) => got.push(Buffer.from(d)));
      // One reused read buffer, as `onread` gives: the opener must not keep views into it.
      const reads = Buffer.alloc(step);
      for (let at = 0; at < wire.length; at += step) {
        const n = wire.copy(reads, 0, at, Math.min(at + step, wire.length));
        opener.feed(reads, n);
        reads.fill(0xee);
      }
      assert.ok(opener.clean);
      assert.deepEqual(Buffer.concat(got), Buffer.concat(pieces), `step ${step}`);
    }
  });

  test(`${mode}: a length out of range is refused`, () => {
    const opener = new FloorOpener(mode, () => assert.fail('nothing to emit'));
    for (const len of [0, 15, 17, MAX_DATA + 1000, 0xffffffff]) {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(len, 0);
      assert.throws(() => new FloorOpener(mode, () => {}).feed(b, 8), FloorFrameError);
    }
    assert.throws(() => opener.feed(Buffer.from([0, 0, 0, 5]), 4), FloorFrameError);
  });

  test(`${mode}: random streams end in an error or wait for more, never a crash`, () => {
    for (let i = 0; i < 200; i++) {
      const junk = randomBytes(1 + (i % 97));
      // Now and then a plausible length in front, so that the opening code runs on junk.
      if (i % 3 === 0 && junk.length >= 4) junk.writeUInt32BE(16 * (1 + (i % 5)), 0);
      const opener = new FloorOpener(mode, () => {});
      try {
        opener.feed(junk, junk.length);
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }
  });

  test(`${mode}: a sealer refuses sizes it cannot frame`, () => {
    const s = new FloorSealer(mode);
    assert.throws(() => s.seal(0), RangeError);
    assert.throws(() => s.seal(MAX_DATA + 1), RangeError);
  });
}

test('aes128-gcm: a flipped bit is refused by the tag', () => {
  const wire = sealAll(new FloorSealer('aes128-gcm'), [randomBytes(300)]);
  wire[20]! ^= 1;
  assert.throws(() => new FloorOpener('aes128-gcm', () => assert.fail('emitted a forged packet')).feed(wire, wire.length));
});
