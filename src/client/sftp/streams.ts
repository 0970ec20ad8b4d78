// createReadStream and createWriteStream: Node streams over a remote file
// with many requests in flight. The read stream stops asking for more when
// its consumer is behind (push() says so) and asks again on _read; the write
// stream takes the next chunk as soon as the last one is on the channel and
// fewer than `concurrency` writes await their status.
import { Readable, Writable } from 'node:stream';
import type { FileAttributes } from '../../sftp/attrs.js';
import type { ReadStreamOptions, SftpHandle, SftpOpenFlags, WriteStreamOptions } from './api.js';
import type { SftpOps } from './ops.js';
import { PipelinedReader } from './reader.js';

/** sftp's defaults: 64 requests of 32 KiB each. */
export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_STREAM_CHUNK = 32 * 1024;

function positive(name: string, v: number | undefined, dflt: number, max = Infinity): number {
  if (v === undefined) return Math.min(dflt, max);
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name}: ${v} is not a positive integer`);
  return Math.min(v, max);
}

function offset(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name}: ${v} is not a non-negative integer`);
  return v;
}

export function createSftpReadStream(c: SftpOps, path: string, o: ReadStreamOptions): Readable {
  const chunkSize = positive('chunkSize', o.chunkSize, DEFAULT_STREAM_CHUNK, c.maxRead);
  const concurrency = positive('concurrency', o.concurrency, DEFAULT_CONCURRENCY);
  const start = offset('start', o.start);
  const end = o.end === undefined ? undefined : offset('end', o.end) + 1;
  let handle: SftpHandle | null = null;
  let reader: PipelinedReader | null = null;
  let started = false;
  const stream = new Readable({
    highWaterMark: o.highWaterMark ?? chunkSize * 4,
    construct(cb) {
      c.open(path, 'r').then(
        async (h) => {
          handle = h;
          let attrs: FileAttributes = {};
          try {
            attrs = await c.fstat(h);
          } catch {
            // the size only spares one request; reading finds the end anyway
          }
          reader = new PipelinedReader(c, h, { start, ...(end !== undefined ? { end } : {}), ...(attrs.size !== undefined ? { knownSize: attrs.size } : {}), chunkSize, concurrency }, {
            data: (chunk) => {
              if (!stream.push(chunk)) reader!.pause();
            },
            end: () => stream.push(null),
            error: (err) => stream.destroy(err),
          });
          cb();
        },
        (err: Error) => cb(err),
      );
    },
    read() {
      if (!started) {
        started = true;
        reader!.start();
      } else reader!.resume();
    },
    destroy(err, cb) {
      reader?.cancel();
      const h = handle;
      handle = null;
      if (h === null) return cb(err);
      c.close(h).then(
        () => cb(err),
        (closeErr: Error) => cb(err ?? closeErr),
      );
    },
  });
  return stream;
}

const OPEN_WRITE_FLAGS = new Set<SftpOpenFlags>(['r+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+']);

export function createSftpWriteStream(c: SftpOps, path: string, o: WriteStreamOptions): Writable {
  const chunkSize = positive('chunkSize', o.chunkSize, DEFAULT_STREAM_CHUNK, c.maxWrite);
  const concurrency = positive('concurrency', o.concurrency, DEFAULT_CONCURRENCY);
  const flags = o.flags ?? 'w';
  if (!OPEN_WRITE_FLAGS.has(flags)) throw new RangeError(`createWriteStream: flags ${JSON.stringify(flags)} do not open for writing`);
  let position = offset('start', o.start);
  let handle: SftpHandle | null = null;
  let inflight = 0;
  let failure: Error | null = null;
  /** The write callback waiting for the channel or for a free request slot. */
  let waiting: { cb: (err?: Error | null) => void; sent: boolean } | null = null;
  let finalCb: ((err?: Error | null) => void) | null = null;

  const check = (): void => {
    if (waiting && (failure || (waiting.sent && inflight < concurrency))) {
      const w = waiting;
      waiting = null;
      w.cb(failure);
    }
    if (finalCb && (failure || inflight === 0)) {
      const f = finalCb;
      finalCb = null;
      const h = handle;
      handle = null;
      if (failure || h === null) f(failure);
      else c.close(h).then(() => f(), (err: Error) => f(err));
    }
  };

  const send = (data: Uint8Array, cb: (err?: Error | null) => void): void => {
    if (failure) return cb(failure);
    const w = { cb, sent: false };
    waiting = w;
    for (let at = 0; at < data.length; at += chunkSize) {
      const piece = data.subarray(at, at + chunkSize);
      const where = position;
      position += piece.length;
      inflight++;
      c.writeFrom(handle!, where, piece, (err) => {
        inflight--;
        if (err && !failure) failure = err;
        check();
      });
    }
    // Registered after the loop: it may run at once, and take the next chunk.
    c.afterSent(() => {
      w.sent = true;
      check();
    });
  };

  const attrs: FileAttributes = o.mode === undefined ? {} : { mode: o.mode & 0o7777 };
  return new Writable({
    highWaterMark: chunkSize,
    construct(cb) {
      c.open(path, flags, attrs).then(
        (h) => {
          handle = h;
          cb();
        },
        (err: Error) => cb(err),
      );
    },
    write(chunk: Buffer, _enc, cb) {
      send(chunk, cb);
    },
    writev(chunks, cb) {
      const total = chunks.reduce((n, x) => n + x.chunk.length, 0);
      // Small writes gathered into one request (a copy of a few KiB beats a packet each).
      if (total <= chunkSize) return send(Buffer.concat(chunks.map((x) => x.chunk as Buffer)), cb);
      let i = 0;
      const next = (err?: Error | null): void => {
        if (err || i === chunks.length) return cb(err);
        send(chunks[i++]!.chunk as Buffer, next);
      };
      next();
    },
    final(cb) {
      finalCb = cb;
      check();
    },
    destroy(err, cb) {
      const h = handle;
      handle = null;
      if (h === null) return cb(err);
      c.close(h).then(
        () => cb(err),
        (closeErr: Error) => cb(err ?? closeErr),
      );
    },
  });
}
