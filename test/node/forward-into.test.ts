// forwardInto (src/server/forward-socket.ts): channel data into a socket, the
// pieces of one turn of the event loop in one write; backpressure, end and a
// destination that goes away. In memory, with streams standing in for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { forwardInto } from '../../src/server/forward-socket.js';

/** A destination that records each write call's pieces and completes it when `release` says so. */
function recorder(autoComplete = true) {
  const calls: Buffer[][] = [];
  const waiting: (() => void)[] = [];
  const done = (cb: () => void): void => {
    if (autoComplete) cb();
    else waiting.push(cb);
  };
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk]);
      done(cb);
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      done(cb);
    },
  });
  return {
    dest,
    calls,
    release(): void {
      for (const cb of waiting.splice(0)) cb();
    },
    bytes: (): Buffer => Buffer.concat(calls.flat()),
  };
}

const piece = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

test('pieces that arrive in one turn leave in one write call, in order; the next turn makes another', { timeout: 10_000 }, async () => {
  const source = new PassThrough();
  const r = recorder();
  forwardInto(source, r.dest);
  for (let i = 0; i < 4; i++) source.write(piece(32 * 1024, i));
  await nextTurn();
  await nextTurn();
  assert.equal(r.calls.length, 1);
  assert.equal(r.calls[0]!.length, 4);
  source.write(piece(100, 9));
  await nextTurn();
  await nextTurn();
  assert.equal(r.calls.length, 2);
  const expected = Buffer.concat([0, 1, 2, 3].map((i) => piece(32 * 1024, i)).concat([piece(100, 9)]));
  assert.ok(r.bytes().equals(expected));
});

test('a destination that does not finish its writes pauses the source past 256 KiB; it resumes on drain and nothing is lost', { timeout: 10_000 }, async () => {
  const source = new PassThrough({ highWaterMark: 64 * 1024 });
  const r = recorder(false);
  forwardInto(source, r.dest);
  const sent: Buffer[] = [];
  // 1 MiB offered in 32 KiB pieces, all in one turn.
  let accepted = 0;
  for (let i = 0; i < 32; i++) {
    const p = piece(32 * 1024, i);
    sent.push(p);
    if (source.write(p)) accepted++;
  }
  await nextTurn();
  await nextTurn();
  // The destination holds what it took; the source stopped once it held 256 KiB.
  assert.equal(source.isPaused(), true);
  assert.ok(r.dest.writableLength >= 256 * 1024 && r.dest.writableLength < 512 * 1024, `destination holds ${r.dest.writableLength}`);
  assert.ok(accepted < 32, 'the source pushes back on its writer too');
  // Complete the writes until everything is through.
  for (let i = 0; i < 100 && r.bytes().length < 32 * 32 * 1024; i++) {
    r.release();
    await nextTurn();
  }
  assert.ok(r.bytes().equals(Buffer.concat(sent)));
  // The last write completed, the destination drains and the source flows again.
  r.release();
  await nextTurn();
  assert.equal(r.dest.writableLength, 0);
  assert.equal(source.isPaused(), false);
});

test("the source's end ends the destination (and with end = false it does not)", { timeout: 10_000 }, async () => {
  for (const end of [true, false]) {
    const source = new PassThrough();
    const r = recorder();
    forwardInto(source, r.dest, end);
    source.end(piece(1000, 1));
    await nextTurn();
    await nextTurn();
    assert.equal(r.bytes().length, 1000);
    assert.equal(r.dest.writableEnded, end);
  }
});

test('a destination that goes away stops the forwarding and pauses the source, without errors', { timeout: 10_000 }, async () => {
  const source = new PassThrough();
  const r = recorder();
  r.dest.on('error', () => undefined);
  forwardInto(source, r.dest);
  source.write(piece(10, 1));
  await nextTurn();
  await nextTurn();
  r.dest.destroy();
  await nextTurn();
  source.write(piece(10, 2));
  await nextTurn();
  assert.equal(source.isPaused(), true);
  assert.equal(r.bytes().length, 10);
});

test('a destination that fails stops the forwarding too', { timeout: 10_000 }, async () => {
  const source = new PassThrough();
  const dest = new Writable({
    write(_chunk, _enc, cb) {
      cb(new Error('EPIPE'));
    },
  });
  dest.on('error', () => undefined);
  forwardInto(source, dest);
  source.write(piece(10, 1));
  await nextTurn();
  await nextTurn();
  source.write(piece(10, 2));
  await nextTurn();
  assert.equal(source.isPaused(), true);
  assert.equal(dest.destroyed, true);
});
