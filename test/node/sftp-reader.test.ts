// The pipelined reader of get and createReadStream against a scripted
// server: short reads re-asked at the right offsets, replies out of order,
// EOF found exactly (by a status or an empty read, never by a short read),
// files that grow or shrink while read, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NO_DATA_EOF, PipelinedReader, type ReadTarget } from '../../src/client/sftp/reader.js';
import type { ReadDone } from '../../src/client/sftp/ops.js';
import { SftpError } from '../../src/sftp/errors.js';
import { FX } from '../../src/sftp/constants.js';

type Pending = { offset: number; length: number; done: ReadDone };

/** A file served by a script: it decides how much each read returns; replies are released in the order the test picks. */
class FakeServer implements ReadTarget {
  readonly pending: Pending[] = [];
  readonly asked: [number, number][] = [];
  maxInFlight = 0;
  constructor(public file: Uint8Array, public shortBy: (offset: number, length: number) => number = () => 0) {}
  readInto(_h: unknown, offset: number, length: number, done: Pending['done']): void {
    this.asked.push([offset, length]);
    this.pending.push({ offset, length, done });
    this.maxInFlight = Math.max(this.maxInFlight, this.pending.length);
  }
  /** Answers the request at `index` of those waiting. */
  answer(index = 0): void {
    const [p] = this.pending.splice(index, 1);
    if (!p) throw new Error('nothing pending');
    if (p.offset >= this.file.length) return p.done(NO_DATA_EOF, 0);
    const n = Math.max(1, Math.min(p.length - this.shortBy(p.offset, p.length), this.file.length - p.offset));
    // The data in pieces, as channel chunks cut a reply.
    const pieces: Uint8Array[] = [];
    for (let at = p.offset; at < p.offset + n; at += 37) pieces.push(this.file.subarray(at, Math.min(at + 37, p.offset + n)));
    p.done(pieces, n);
  }
  answerAll(order: 'fifo' | 'lifo' | 'random' = 'fifo'): void {
    for (let guard = 0; this.pending.length > 0 && guard < 1_000_000; guard++) {
      const i = order === 'fifo' ? 0 : order === 'lifo' ? this.pending.length - 1 : Math.floor(Math.random() * this.pending.length);
      this.answer(i);
    }
  }
}

function run(server: FakeServer, o: { start?: number; end?: number; knownSize?: number; chunkSize?: number; concurrency?: number }, order: 'fifo' | 'lifo' | 'random' = 'fifo') {
  const chunks: Buffer[] = [];
  let endAt: number | null = null;
  let error: Error | null = null;
  let expect = o.start ?? 0;
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: o.start ?? 0, ...(o.end !== undefined ? { end: o.end } : {}), ...(o.knownSize !== undefined ? { knownSize: o.knownSize } : {}), chunkSize: o.chunkSize ?? 100, concurrency: o.concurrency ?? 8 }, {
    data: (c, at) => {
      assert.equal(at, expect, 'data is handed on in order');
      expect += c.length;
      chunks.push(Buffer.from(c));
    },
    end: (at) => (endAt = at),
    error: (e) => (error = e),
  });
  reader.start();
  server.answerAll(order);
  return { data: Buffer.concat(chunks), endAt: endAt as number | null, error: error as Error | null };
}

for (const order of ['fifo', 'lifo', 'random'] as const) {
  test(`whole file, replies ${order}: every byte once, in order, with the end found`, () => {
    for (const size of [0, 1, 99, 100, 101, 1000, 4567]) {
      const file = randomBytes(size);
      for (const knownSize of [undefined, size]) {
        const r = run(new FakeServer(file), { ...(knownSize !== undefined ? { knownSize } : {}) }, order);
        assert.equal(r.error, null);
        assert.deepEqual(r.data, file, `size ${size}`);
        assert.equal(r.endAt, size);
      }
    }
  });

  test(`short reads (replies ${order}) are asked again from where they ended, never taken for the end`, () => {
    const file = randomBytes(5000);
    const server = new FakeServer(file, (off) => (off % 7) + 30);
    const r = run(server, { knownSize: file.length, chunkSize: 128 }, order);
    assert.equal(r.error, null);
    assert.deepEqual(r.data, file);
    assert.equal(r.endAt, file.length);
    // Some request started where an earlier short reply ended.
    assert.ok(server.asked.some(([o]) => o % 128 !== 0));
  });
}

test('requests in flight stay at the concurrency asked for', () => {
  const server = new FakeServer(randomBytes(100_000));
  run(server, { concurrency: 5, chunkSize: 1000 });
  assert.equal(server.maxInFlight, 5);
});

test('with the size known, one request past it finds the end (not a whole window of them)', () => {
  const server = new FakeServer(randomBytes(1000));
  run(server, { knownSize: 1000, chunkSize: 100, concurrency: 64 });
  assert.deepEqual(server.asked.filter(([o]) => o >= 1000), [[1000, 100]]);
});

test('a file that grew since its stat is read to its real end', () => {
  const file = randomBytes(3000);
  const r = run(new FakeServer(file), { knownSize: 1000, chunkSize: 256 });
  assert.deepEqual(r.data, file);
  assert.equal(r.endAt, 3000);
});

test('a file that shrank since its stat ends where the server says', () => {
  const file = randomBytes(500);
  const r = run(new FakeServer(file), { knownSize: 1000, chunkSize: 256 });
  assert.deepEqual(r.data, file);
  assert.equal(r.endAt, 500);
});

test('start and end (exclusive) read a range, asking nothing past it', () => {
  const file = randomBytes(1000);
  const server = new FakeServer(file);
  const r = run(server, { start: 10, end: 333, chunkSize: 50 });
  assert.deepEqual(r.data, file.subarray(10, 333));
  assert.equal(r.endAt, 333);
  assert.ok(server.asked.every(([o, n]) => o + n <= 333));
  const empty = run(new FakeServer(file), { start: 5, end: 5 });
  assert.equal(empty.endAt, 5);
  assert.equal(empty.data.length, 0);
});

test('resume: starting at the known size asks once and ends there', () => {
  const server = new FakeServer(randomBytes(700));
  const r = run(server, { start: 700, knownSize: 700 });
  assert.equal(r.endAt, 700);
  assert.deepEqual(server.asked, [[700, 100]]);
});

test('data past a reported end (a file changing under the reader) is an error, not silently kept or dropped', () => {
  const file = randomBytes(1000);
  const server = new FakeServer(file);
  const errors: Error[] = [];
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: 0, chunkSize: 100, concurrency: 4 }, { data: () => undefined, end: () => undefined, error: (e) => errors.push(e) });
  reader.start();
  // The second request says EOF; then the third brings data beyond it.
  const second = server.pending.splice(1, 1)[0]!;
  second.done(NO_DATA_EOF, 0);
  server.answer(1);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof SftpError);
  assert.match(errors[0].message, /changed/);
});

test('a failed read fails the reader once; later replies are ignored', () => {
  const server = new FakeServer(randomBytes(1000));
  const errors: Error[] = [];
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: 0, chunkSize: 100, concurrency: 4 }, { data: () => undefined, end: () => assert.fail('no end'), error: (e) => errors.push(e) });
  reader.start();
  server.pending.shift()!.done(null, 0, new SftpError(FX.PERMISSION_DENIED, '', 'read', '/f'));
  server.answerAll();
  assert.equal(errors.length, 1);
  assert.ok(reader.done);
});

test('pause stops new requests; resume asks again', () => {
  const server = new FakeServer(randomBytes(10_000));
  let got = 0;
  let ended = false;
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: 0, chunkSize: 100, concurrency: 4 }, {
    data: (c) => {
      got += c.length;
      reader.pause();
    },
    end: () => (ended = true),
    error: (e) => assert.fail(e),
  });
  reader.start();
  server.answerAll();
  assert.equal(server.asked.length, 4, 'paused after the first reply: only the first window was asked');
  for (let i = 0; i < 1000 && !ended; i++) {
    reader.resume();
    server.answerAll();
  }
  assert.ok(ended);
  assert.equal(got, 10_000);
});

test('an empty DATA before the known size is an error, never a silent end; past it (no size known) it is the end', () => {
  const server = new FakeServer(randomBytes(1000));
  const errors: Error[] = [];
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: 0, knownSize: 1000, chunkSize: 100, concurrency: 4 }, { data: () => undefined, end: () => assert.fail('no end'), error: (e) => errors.push(e) });
  reader.start();
  server.pending.splice(1, 1)[0]!.done([], 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /no data at 100 of a file of 1000 bytes/);
  let endAt = -1;
  const r2 = new PipelinedReader(new FakeServer(randomBytes(10)), { handle: new Uint8Array(1), path: '/f' }, { start: 0, chunkSize: 100, concurrency: 1 }, { data: () => undefined, end: (at) => (endAt = at), error: (e) => assert.fail(e) });
  const s2 = (r2 as unknown as { target: FakeServer }).target;
  r2.start();
  s2.answer();
  s2.pending.shift()!.done([], 0);
  assert.equal(endAt, 10);
});

test('with a known size, the read confirming the end goes out with the last one (a small file in one round trip)', () => {
  const file = randomBytes(4096);
  const server = new FakeServer(file);
  const got: Buffer[] = [];
  let endAt: number | null = null;
  const reader = new PipelinedReader(server, { handle: new Uint8Array(1), path: '/f' }, { start: 0, knownSize: file.length, chunkSize: 65536, concurrency: 16 }, {
    data: (c) => got.push(Buffer.from(c)),
    end: (at) => (endAt = at),
    error: (e) => assert.fail(e),
  });
  reader.start();
  // Both asked before any answer: the data up to the size, and the read past it.
  assert.deepEqual(server.asked, [
    [0, 4096],
    [4096, 65536],
  ]);
  server.answerAll();
  assert.deepEqual(Buffer.concat(got), file);
  assert.equal(endAt, 4096);
  assert.equal(server.asked.length, 2);
});
