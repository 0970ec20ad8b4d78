// Poly1305 one-time authenticator (RFC 8439 §2.5). node:crypto has no Poly1305
// MAC, so the arithmetic runs in a small hand-generated WebAssembly module (see
// scripts/build-poly1305.mjs); this file only moves bytes in and out of it.
// The module's memory has a fixed size: long messages go through in chunks, so
// no input can make it grow.

import {
  POLY1305_MEMORY_BYTES,
  POLY1305_MSG_OFFSET,
  POLY1305_TAG_OFFSET,
  POLY1305_WASM_BASE64,
} from './poly1305.wasm.js';

type MacFn = (offset: number, length: number, flags: number) => void;

// The compiler options (lib ES2022, no DOM) carry no WebAssembly typings; this
// module-scoped declaration covers the little used here.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

const FIRST = 1;
const LAST = 2;
/** Bytes handed to the kernel per call; a multiple of 16 that fits its memory. */
const CHUNK = 65536;
if (POLY1305_MSG_OFFSET + CHUNK > POLY1305_MEMORY_BYTES) throw new Error('poly1305 kernel memory too small');

// Compiled once at import; the module is a few KiB so synchronous compilation is cheap.
const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(POLY1305_WASM_BASE64, 'base64')), {});
const kernel = instance.exports['mac'] as MacFn;
const heap = new Uint8Array((instance.exports['memory'] as { readonly buffer: ArrayBuffer }).buffer);

/**
 * Tag over the concatenation of `parts` (no copy is made to join them), written
 * to `out[outOffset..outOffset+16]`. Used by the packet cipher to authenticate
 * `length || ciphertext` straight from where those bytes already are.
 */
export function poly1305Parts(key: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
  if (key.length !== 32) throw new RangeError('poly1305 key must be 32 bytes');
  if (out.length < outOffset + 16) throw new RangeError('poly1305 output does not fit');
  heap.set(key, 0);
  let fill = 0;
  let flags = FIRST;
  for (const part of parts) {
    // Common case: the whole part fits in the current chunk.
    if (fill + part.length <= CHUNK) {
      heap.set(part, POLY1305_MSG_OFFSET + fill);
      fill += part.length;
      continue;
    }
    let pos = 0;
    while (pos < part.length) {
      // Flush only when more bytes follow, so the final call is never empty of a full chunk's data.
      if (fill === CHUNK) {
        kernel(POLY1305_MSG_OFFSET, CHUNK, flags);
        flags = 0;
        fill = 0;
      }
      const n = Math.min(CHUNK - fill, part.length - pos);
      heap.set(part.subarray(pos, pos + n), POLY1305_MSG_OFFSET + fill);
      fill += n;
      pos += n;
    }
  }
  kernel(POLY1305_MSG_OFFSET, fill, flags | LAST);
  out.set(heap.subarray(POLY1305_TAG_OFFSET, POLY1305_TAG_OFFSET + 16), outOffset);
}

/** One-shot Poly1305: the 16-byte tag of `msg` under the one-time key `key` (32 bytes, r || s). */
export function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const tag = new Uint8Array(16);
  poly1305Parts(key, [msg], tag, 0);
  return tag;
}
