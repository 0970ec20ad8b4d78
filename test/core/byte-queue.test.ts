// ByteQueue against a plain array model: random chunkings, peeks, takes (with
// and without a scratch buffer) and skips must always agree with slicing the
// concatenated stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteQueue } from '../../src/core/transport/byte-queue.js';
import { seededRandom } from '../../src/testing/random.js';

test('peek within one chunk is a view, across chunks a copy that later peeks reuse', () => {
  const q = new ByteQueue();
  const a = Uint8Array.from([1, 2, 3, 4]);
  q.push(a);
  q.push(Uint8Array.from([5, 6, 7]));
  const v = q.peek(3);
  assert.equal(v.buffer, a.buffer);
  assert.deepEqual([...q.peek(6)], [1, 2, 3, 4, 5, 6]);
  const again = q.peek(5);
  assert.equal(again.buffer, q.peek(6).buffer, 'the coalesced chunk is reused');
  assert.equal(q.length, 7);
  assert.deepEqual([...q.take(7)], [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(q.length, 0);
});

test('take across chunks copies into the lent scratch buffer when it is large enough', () => {
  const q = new ByteQueue();
  q.push(Uint8Array.from([1, 2]));
  q.push(Uint8Array.from([3, 4, 5]));
  const scratch = new Uint8Array(8);
  const t = q.take(4, scratch);
  assert.equal(t.buffer, scratch.buffer);
  assert.deepEqual([...t], [1, 2, 3, 4]);
  const small = new Uint8Array(0);
  q.push(Uint8Array.from([6]));
  const u = q.take(2, small);
  assert.notEqual(u.buffer, small.buffer);
  assert.deepEqual([...u], [5, 6]);
});

test('reading past the end throws instead of returning short data; nothing from nothing is fine', () => {
  const q = new ByteQueue();
  assert.equal(q.peek(0).length, 0);
  assert.equal(q.take(0).length, 0);
  q.push(new Uint8Array(3));
  assert.throws(() => q.peek(4), RangeError);
  assert.throws(() => q.take(4), RangeError);
  assert.throws(() => q.skip(4), RangeError);
});

test('random chunking, peeks, takes and skips agree with the concatenated stream', () => {
  const rnd = seededRandom(7);
  const byte = (): number => rnd(1)[0]!;
  const q = new ByteQueue();
  const model: number[] = [];
  let next = 0;
  const scratch = new Uint8Array(300);
  for (let step = 0; step < 5000; step++) {
    const op = byte() % 4;
    if (op === 0 || model.length < 50) {
      const n = byte() % 40; // includes empty chunks
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i++) chunk[i] = next++ & 0xff;
      q.push(chunk);
      model.push(...chunk);
    } else {
      const n = Math.min(model.length, (byte() << 1) % 260); // sometimes 0
      if (op === 1) {
        assert.deepEqual([...q.peek(n)], model.slice(0, n));
      } else if (op === 2) {
        assert.deepEqual([...q.take(n, byte() & 1 ? scratch : null)], model.slice(0, n));
        model.splice(0, n);
      } else {
        q.skip(n);
        model.splice(0, n);
      }
    }
    assert.equal(q.length, model.length);
  }
});

test('isContiguous says whether take would hand out a view of one chunk', () => {
  const q = new ByteQueue();
  assert.equal(q.isContiguous(0), true);
  assert.equal(q.isContiguous(1), false, 'nothing queued');
  q.push(Uint8Array.from([1, 2, 3]));
  q.push(Uint8Array.from([4, 5]));
  assert.equal(q.isContiguous(3), true);
  assert.equal(q.isContiguous(4), false);
  q.skip(2);
  assert.equal(q.isContiguous(1), true);
  assert.equal(q.isContiguous(2), false);
  q.skip(1);
  assert.equal(q.isContiguous(2), true);
  const chunk = q.take(2);
  assert.deepEqual([...chunk], [4, 5]);
});

test('ownCopies replaces the queued views of a lent buffer with copies of their unread part', () => {
  const q = new ByteQueue();
  const own = Uint8Array.from([1, 2, 3]);
  const lent = Uint8Array.from([4, 5, 6, 7, 8, 9]);
  q.push(own);
  q.push(lent.subarray(0, 4));
  q.skip(4); // all of `own` and the 4
  q.ownCopies(lent.buffer);
  lent.fill(0);
  assert.equal(q.length, 3);
  assert.deepEqual([...q.take(3)], [5, 6, 7]);
  // A buffer nothing in the queue views is left alone, and an empty queue is fine.
  q.ownCopies(new Uint8Array(4).buffer);
  assert.equal(q.length, 0);
});
