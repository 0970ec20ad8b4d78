// Packet compression (RFC 4253 §6.2, OpenSSH PROTOCOL §2.2 for the delayed
// `zlib@openssh.com`). Each direction is one zlib stream for the life of the
// keys: the compression context (the 32 KiB window and the Huffman state)
// carries over from packet to packet, and every packet is flushed so the peer
// can inflate it on its own. Like OpenSSH we deflate with Z_PARTIAL_FLUSH and
// inflate with Z_SYNC_FLUSH (a partial flush leaves up to 7 bits of an empty
// block for the next packet, which a persistent inflater handles naturally).
//
// Why the stream's `_handle.writeSync`: the transport is synchronous, and
// node:zlib has no documented synchronous API on a persistent stream.
//  - `stream._processChunk(chunk, flag)` without a callback is synchronous, but
//    in Node 20 it closes the native handle after the first call (it exists
//    for the one-shot *Sync helpers), so it cannot carry state across packets.
//  - The one-shot `deflateRawSync` with the last 32 KiB as a preset dictionary
//    and Z_SYNC_FLUSH makes a valid continuation on the sending side, but costs
//    ~100 µs per packet to rebuild the hash chains, and cannot work for
//    receiving: a peer's partial flush does not end packets on a byte boundary.
//  - A JavaScript inflate would be a new hand-written parser of hostile input.
// `_handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)` with the
// `_writeState` pair [availOut, availIn] is the call Node's own synchronous
// zlib functions make on every chunk (unchanged since Node 10, and the ssh2
// package drives the same binding for the same reason). We use a normal public
// stream object and only borrow its handle, check the shape once at load time,
// and drop the zlib entries from the registry if a future Node changes it, so
// the worst case is "no compression", not a crash.
import { constants as Z, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { DisconnectReason, ProtocolError } from '../errors.js';
import type { CompressionAlgorithm, Compressor, Decompressor } from './types.js';

/** The parts of node:zlib's private native handle that we rely on. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    output: Buffer,
    outOff: number,
    outLen: number,
  ): void;
}
interface HandleCarrier {
  _handle?: ZlibHandle | null;
  _writeState?: Uint32Array;
}

function borrowHandle(stream: Deflate | Inflate): { handle: ZlibHandle; state: Uint32Array } | null {
  const s = stream as unknown as HandleCarrier;
  const handle = s._handle;
  const state = s._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) return null;
  return { handle, state };
}

/** True when this Node exposes the native zlib handle the way we need. */
export const zlibAvailable: boolean = (() => {
  try {
    const probe = createInflate();
    const ok = borrowHandle(probe) !== null;
    probe.close();
    return ok;
  } catch {
    return false;
  }
})();

function compressionError(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, DisconnectReason.COMPRESSION_ERROR, cause === undefined ? undefined : { cause });
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const MIN_SCRATCH = 16 * 1024;

/**
 * One direction's persistent zlib context. Output goes to a scratch buffer
 * that grows to the largest packet seen and is reused; each call returns a
 * copy of exactly the bytes produced.
 */
class ZlibPipe {
  readonly #stream: Deflate | Inflate;
  readonly #handle: ZlibHandle;
  readonly #state: Uint32Array;
  readonly #flush: number;
  #scratch: Buffer = Buffer.allocUnsafe(MIN_SCRATCH);
  #dead = false;

  constructor(stream: Deflate | Inflate, flush: number) {
    const borrowed = borrowHandle(stream);
    if (!borrowed) throw compressionError('zlib compression is not available in this Node.js');
    this.#stream = stream;
    this.#handle = borrowed.handle;
    this.#state = borrowed.state;
    this.#flush = flush;
    // Node reports a zlib failure by destroying the stream, which emits
    // 'error' on a later tick; we detect the failure synchronously below, so
    // the event only needs a listener to keep it from becoming uncaught.
    stream.on('error', () => {});
  }

  /** Runs `input` through zlib; throws once more than `limit` bytes would come out. */
  run(input: Uint8Array, limit: number): Uint8Array {
    if (this.#dead) throw compressionError('compression stream is unusable after an earlier error');
    const source = asBuffer(input);
    let inOff = 0;
    let inLen = source.length;
    let produced = 0;
    for (;;) {
      // Ask for at most one byte past the limit: that is enough to tell
      // "too much" apart from "exactly the limit" without inflating a bomb.
      let room = this.#scratch.length - produced;
      if (room === 0) {
        this.#grow(produced, limit);
        room = this.#scratch.length - produced;
      }
      room = Math.min(room, limit + 1 - produced);
      this.#write(source, inOff, inLen, produced, room);
      const availOut = this.#state[0]!;
      const availIn = this.#state[1]!;
      produced += room - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      if (produced > limit) {
        this.#kill();
        throw compressionError(`decompressed packet exceeds ${limit} bytes`);
      }
      if (availOut !== 0) {
        // zlib stopped with output space left: it has consumed all it can.
        // Leftover input means bytes after the end of the zlib stream.
        if (inLen !== 0) {
          this.#kill();
          throw compressionError('data after the end of the compressed stream');
        }
        break;
      }
    }
    return Uint8Array.prototype.slice.call(this.#scratch, 0, produced);
  }

  #write(source: Buffer, inOff: number, inLen: number, outOff: number, outLen: number): void {
    const stream = this.#stream as unknown as HandleCarrier & { destroyed: boolean; errored?: unknown };
    // A closed handle must never be written to: the binding asserts on it.
    if (stream._handle !== this.#handle || stream.destroyed) {
      this.#dead = true;
      throw compressionError('compression stream is closed');
    }
    try {
      this.#handle.writeSync(this.#flush, source, inOff, inLen, this.#scratch, outOff, outLen);
    } catch (err) {
      this.#kill();
      throw compressionError('zlib failed', err);
    }
    if (stream.destroyed) {
      this.#dead = true;
      const cause = stream.errored;
      const detail = cause instanceof Error ? `: ${cause.message}` : '';
      throw compressionError(`corrupt compressed data${detail}`, cause);
    }
  }

  #grow(used: number, limit: number): void {
    const size = Math.min(Math.max(this.#scratch.length * 2, MIN_SCRATCH), limit + 1);
    const next = Buffer.allocUnsafe(size);
    this.#scratch.copy(next, 0, 0, used);
    this.#scratch = next;
  }

  #kill(): void {
    this.#dead = true;
    this.#stream.close();
  }
}

class ZlibCompressor implements Compressor {
  readonly #pipe = new ZlibPipe(createDeflate(), Z.Z_PARTIAL_FLUSH);
  compress(payload: Uint8Array): Uint8Array {
    // Deflate output of any input is bounded (~ input + 0.1% + a few bytes),
    // so the limit only guards against a zlib bug.
    return this.#pipe.run(payload, payload.length + (payload.length >>> 3) + 1024);
  }
}

class ZlibDecompressor implements Decompressor {
  readonly #pipe = new ZlibPipe(createInflate(), Z.Z_SYNC_FLUSH);
  decompress(payload: Uint8Array, limit: number): Uint8Array {
    if (!Number.isSafeInteger(limit) || limit < 0) throw compressionError(`invalid decompression limit ${limit}`);
    return this.#pipe.run(payload, limit);
  }
}

function zlibEntry(name: string, delayed: boolean, secure: boolean): CompressionAlgorithm {
  return {
    name,
    secure,
    delayed,
    createCompressor: () => new ZlibCompressor(),
    createDecompressor: () => new ZlibDecompressor(),
  };
}

export const noCompression: CompressionAlgorithm = {
  name: 'none',
  secure: true,
  delayed: false,
  createCompressor: () => null,
  createDecompressor: () => null,
};

/** Compression switched on only after user authentication (OpenSSH PROTOCOL §2.2). */
export const zlibOpenssh: CompressionAlgorithm = zlibEntry('zlib@openssh.com', true, true);

/**
 * RFC 4253 `zlib`, active from the first encrypted packet. Legacy (off unless
 * named): it exposes the decompressor to unauthenticated peers, which is why
 * OpenSSH servers stopped offering it.
 */
export const zlibRfc: CompressionAlgorithm = zlibEntry('zlib', false, false);

/** Registry in default preference order; `none` first as in OpenSSH. */
export const compressionAlgorithms: readonly CompressionAlgorithm[] = Object.freeze(
  zlibAvailable ? [noCompression, zlibOpenssh, zlibRfc] : [noCompression],
);

const byName = new Map(compressionAlgorithms.map((c) => [c.name, c] as const));

export function findCompression(name: string): CompressionAlgorithm | undefined {
  return byName.get(name);
}
