// createReadStream and createWriteStream over a scripted server: many
// requests in flight (not one at a time), backpressure both ways, errors
// reaching the stream, the handle closed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSftpReadStream, createSftpWriteStream } from '../../src/client/sftp/streams.js';
import { NO_DATA_EOF } from '../../src/client/sftp/reader.js';
import type { ReadDone, SftpOps } from '../../src/client/sftp/ops.js';
import type { SftpHandle } from '../../src/client/sftp/api.js';
import { SftpError } from '../../src/sftp/errors.js';
import { FX } from '../../src/sftp/constants.js';

/** A remote file in memory; replies come on a timer tick, so requests can pile up as over a network. */
class FakeOps {
  file: Uint8Array;
  inflight = 0;
  maxInFlight = 0;
  closed = 0;
  failWriteAt = -1;
  constructor(size: number) {
    this.file = randomBytes(size);
  }
  readonly maxRead = 1000;
  readonly maxWrite = 1000;
  private track<T>(fn: () => T): void {
    this.inflight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inflight);
    setImmediate(() => {
      this.inflight--;
      fn();
    });
  }
  async open(path: string): Promise<SftpHandle> {
    return { handle: new Uint8Array([1]), path };
  }
  async close(): Promise<void> {
    this.closed++;
  }
  async fstat() {
    return { size: this.file.length };
  }
  readInto(_h: SftpHandle, offset: number, length: number, done: ReadDone): void {
    this.track(() => {
      if (offset >= this.file.length) return done(NO_DATA_EOF, 0);
      const piece = this.file.subarray(offset, Math.min(offset + length, this.file.length));
      done([piece], piece.length);
    });
  }
  writeFrom(_h: SftpHandle, offset: number, data: Uint8Array, done: (err?: Error) => void): void {
    const copy = data.slice();
    this.track(() => {
      if (this.failWriteAt >= 0 && offset >= this.failWriteAt) return done(new SftpError(FX.FAILURE, 'disk full', 'write', '/f'));
      if (offset + copy.length > this.file.length) {
        const grown = new Uint8Array(offset + copy.length);
        grown.set(this.file);
        this.file = grown;
      }
      this.file.set(copy, offset);
      done();
    });
  }
  afterSent(fn: () => void): void {
    fn();
  }
}

const ops = (f: FakeOps) => f as unknown as SftpOps;

test('a read stream keeps many READs in flight and delivers the file in order', async () => {
  const f = new FakeOps(100_000);
  const chunks: Buffer[] = [];
  await pipeline(createSftpReadStream(ops(f), '/f', { chunkSize: 1000, concurrency: 16 }), new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(f.file));
  assert.ok(f.maxInFlight > 8, `at most ${f.maxInFlight} in flight`);
  assert.equal(f.closed, 1);
});

test('a read stream whose reader is slow stops asking: what it holds stays bounded', async () => {
  const f = new FakeOps(400_000);
  const stream = createSftpReadStream(ops(f), '/f', { chunkSize: 1000, concurrency: 8, highWaterMark: 4000 });
  await new Promise((r) => stream.once('readable', r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  // Nobody reads: the buffer is the high-water mark plus what was in flight.
  assert.ok(stream.readableLength <= 4000 + 8 * 1000, `holds ${stream.readableLength} bytes`);
  stream.destroy();
  await new Promise((r) => stream.once('close', r));
  assert.equal(f.closed, 1);
});

test('a write stream keeps many WRITEs in flight and writes every byte where it belongs', async () => {
  const f = new FakeOps(0);
  const data = randomBytes(50_000);
  const w = createSftpWriteStream(ops(f), '/f', { chunkSize: 1000, concurrency: 16 });
  for (let at = 0; at < data.length; at += 3000) w.write(data.subarray(at, at + 3000));
  await new Promise<void>((resolve, reject) => w.end((err?: Error | null) => (err ? reject(err) : resolve())));
  assert.deepEqual(Buffer.from(f.file), data);
  assert.ok(f.maxInFlight > 8, `at most ${f.maxInFlight} in flight`);
  assert.ok(f.maxInFlight <= 16 + 2, 'bounded by the concurrency (a chunk may add its pieces)');
  assert.equal(f.closed, 1);
});

test('a failed WRITE fails the write stream with the server\'s status', async () => {
  const f = new FakeOps(0);
  f.failWriteAt = 10_000;
  const w = createSftpWriteStream(ops(f), '/f', { chunkSize: 1000, concurrency: 4 });
  const err = await new Promise<Error>((resolve) => {
    w.on('error', resolve);
    const write = (i: number): void => {
      if (i === 100) return void w.end();
      if (w.write(randomBytes(1000))) setImmediate(() => write(i + 1));
      else w.once('drain', () => write(i + 1));
    };
    write(0);
  });
  assert.ok(err instanceof SftpError);
  assert.match(err.message, /disk full/);
});
