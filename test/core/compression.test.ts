import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { constants as Z, deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { DisconnectReason, ProtocolError } from '../../src/errors.js';
import type { Compressor, Decompressor } from '../../src/algorithms/types.js';
import {
  compressionAlgorithms,
  findCompression,
  zlibAvailable,
  zlibOpenssh,
  zlibRfc,
} from '../../src/algorithms/compression.js';

const LIMIT = 256 * 1024;
const enc = new TextEncoder();

function pair(): { c: Compressor; d: Decompressor } {
  const c = zlibOpenssh.createCompressor();
  const d = zlibOpenssh.createDecompressor();
  assert.ok(c && d);
  return { c, d };
}

const isCompressionError = (e: unknown) =>
  e instanceof ProtocolError && e.reason === DisconnectReason.COMPRESSION_ERROR;

/** Text with structure, so that the shared window matters. */
function sample(i: number): Uint8Array {
  return enc.encode(`drwxr-xr-x  2 user group 4096 Jan ${i % 28} 12:00 directory-number-${i}\n`.repeat(1 + (i % 7)));
}

test('compression registry: none first, zlib@openssh.com delayed, plain zlib legacy', () => {
  assert.ok(zlibAvailable, 'this Node exposes the zlib handle we drive');
  assert.deepEqual(
    compressionAlgorithms.map((a) => [a.name, a.delayed, a.secure]),
    [
      ['none', false, true],
      ['zlib@openssh.com', true, true],
      ['zlib', false, false],
    ],
  );
  const none = findCompression('none');
  assert.ok(none);
  assert.equal(none.createCompressor(), null);
  assert.equal(none.createDecompressor(), null);
  assert.equal(findCompression('zlib'), zlibRfc);
  assert.equal(findCompression('zlib@openssh.com'), zlibOpenssh);
  assert.equal(findCompression('lz4'), undefined);
});

test('round trip across many packets sharing one context', () => {
  const { c, d } = pair();
  for (let i = 0; i < 300; i++) {
    const p = i % 10 === 9 ? new Uint8Array(randomBytes(i * 50)) : sample(i);
    const z = c.compress(p);
    assert.deepEqual(new Uint8Array(d.decompress(z, LIMIT)), p, `packet ${i}`);
  }
  // Large packets that need more than one output chunk in both directions.
  const big = enc.encode('0123456789abcdef'.repeat(16384));
  assert.deepEqual(new Uint8Array(d.decompress(c.compress(big), LIMIT)), big);
  const noise = new Uint8Array(randomBytes(200_000));
  assert.deepEqual(new Uint8Array(d.decompress(c.compress(noise), LIMIT)), noise);
});

test('the window persists: a repeated packet compresses smaller the second time', () => {
  const { c, d } = pair();
  const text = enc.encode('The quick brown fox jumps over the lazy dog, then naps for a while. '.repeat(3) + 'Done 42.');
  const first = c.compress(text);
  const second = c.compress(text);
  assert.ok(second.length < first.length / 2, `${second.length} vs ${first.length}`);
  assert.deepEqual(new Uint8Array(d.decompress(first, LIMIT)), text);
  assert.deepEqual(new Uint8Array(d.decompress(second, LIMIT)), text);
  // A fresh inflater cannot make sense of the second packet alone.
  const fresh = zlibOpenssh.createDecompressor();
  assert.ok(fresh);
  assert.throws(() => fresh.decompress(second, LIMIT), isCompressionError);
});

test('interop: the packets concatenated form one zlib stream node:zlib can inflate', () => {
  const c = zlibRfc.createCompressor();
  assert.ok(c);
  const inputs: Uint8Array[] = [];
  const outputs: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    inputs.push(sample(i));
    outputs.push(c.compress(inputs[i]!));
  }
  assert.equal(outputs[0]![0]! & 0x0f, 8, 'zlib header: deflate method');
  const all = inflateSync(Buffer.concat(outputs), { finishFlush: Z.Z_SYNC_FLUSH });
  assert.deepEqual(new Uint8Array(all), new Uint8Array(Buffer.concat(inputs)));
  // Every prefix ending on a packet boundary is decodable on its own (the flush guarantee).
  let expected = 0;
  for (let i = 0; i < outputs.length; i++) {
    expected += inputs[i]!.length;
    const prefix = inflateSync(Buffer.concat(outputs.slice(0, i + 1)), { finishFlush: Z.Z_SYNC_FLUSH });
    assert.equal(prefix.length, expected);
  }
});

test('interop: inflates a foreign zlib stream split at arbitrary byte boundaries', () => {
  const text = Buffer.concat(Array.from({ length: 200 }, (_, i) => sample(i)));
  const stream = deflateSync(text, { finishFlush: Z.Z_SYNC_FLUSH });
  const d = zlibOpenssh.createDecompressor();
  assert.ok(d);
  const out: Uint8Array[] = [];
  for (let off = 0, step = 1; off < stream.length; off += step, step = (step * 7 + 3) % 97 + 1) {
    out.push(d.decompress(stream.subarray(off, off + step), LIMIT));
  }
  assert.deepEqual(new Uint8Array(Buffer.concat(out)), new Uint8Array(text));
});

test('zip-bomb guard stops at the limit', async () => {
  const bomb = deflateSync(Buffer.alloc(20 * 1024 * 1024), { finishFlush: Z.Z_SYNC_FLUSH });
  assert.ok(bomb.length < 30_000);
  const d = zlibOpenssh.createDecompressor();
  assert.ok(d);
  assert.throws(() => d.decompress(bomb, LIMIT), isCompressionError);
  // The stream is dead afterwards, and stays a typed error.
  assert.throws(() => d.decompress(bomb, LIMIT), isCompressionError);
  await tick();

  // Exactly at the limit is fine; one byte over is not.
  const exact = deflateSync(Buffer.alloc(1000, 7), { finishFlush: Z.Z_SYNC_FLUSH });
  const ok = zlibOpenssh.createDecompressor();
  assert.ok(ok);
  assert.equal(ok.decompress(exact, 1000).length, 1000);
  const over = zlibOpenssh.createDecompressor();
  assert.ok(over);
  assert.throws(() => over.decompress(exact, 999), isCompressionError);
  const zero = zlibOpenssh.createDecompressor();
  assert.ok(zero);
  assert.equal(zero.decompress(new Uint8Array(0), 0).length, 0);
  assert.throws(() => zero.decompress(new Uint8Array(0), -1), isCompressionError);
});

test('corrupt input is a COMPRESSION_ERROR, never another exception', async () => {
  const cases: [string, Uint8Array][] = [
    ['bad header', Uint8Array.from([0x12, 0x34, 0x56, 0x78])],
    ['preset dictionary requested', Uint8Array.from([0x78, 0xbb, 0, 0, 0, 1])],
    ['raw deflate without zlib header', deflateRawSync(Buffer.from('hello'))],
    ['random noise', randomBytes(512)],
  ];
  for (const [what, data] of cases) {
    const d = zlibOpenssh.createDecompressor();
    assert.ok(d);
    assert.throws(() => d.decompress(data, LIMIT), isCompressionError, what);
    assert.throws(() => d.decompress(data, LIMIT), isCompressionError, `${what} (again)`);
  }
  // Corruption in a later packet of a healthy stream.
  const { c, d } = pair();
  d.decompress(c.compress(sample(1)), LIMIT);
  const z = Uint8Array.from(c.compress(randomBytes(2000)));
  z[Math.floor(z.length / 2)]! ^= 0xff;
  z[3]! ^= 0xff;
  assert.throws(() => d.decompress(z, LIMIT), isCompressionError);
  // Data after the end of a finished zlib stream.
  const finished = Buffer.concat([deflateSync(Buffer.from('bye')), Buffer.from([1, 2, 3])]);
  const e = zlibOpenssh.createDecompressor();
  assert.ok(e);
  assert.throws(() => e.decompress(finished, LIMIT), isCompressionError);
  // node:zlib reports failures as 'error' events a tick later; none may escape.
  await tick();
  await tick();
});

test('empty and tiny payloads', () => {
  const { c, d } = pair();
  for (const p of [new Uint8Array(0), Uint8Array.of(21), new Uint8Array(1)]) {
    assert.deepEqual(new Uint8Array(d.decompress(c.compress(p), LIMIT)), p);
  }
});
