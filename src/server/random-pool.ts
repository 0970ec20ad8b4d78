// The server's random source: small draws (a KEXINIT cookie, an X25519
// private key: two or three per connection) cut from a buffer of
// node:crypto's CSPRNG output instead of a randomBytes call each, which cost
// ~5 µs apiece against ~0.5 µs here. Each pool byte is handed out once, as
// a copy, and zeroed in the pool at once (no key material stays behind in
// it); large draws go to randomBytes directly.
import { randomBytes, randomFillSync } from 'node:crypto';
import type { RandomSource } from '../algorithms/types.js';

const POOL_BYTES = 4096;
/** Draws above this skip the pool (they are rare and would drain it). */
const LARGEST_POOLED = 256;

export function pooledRandom(): RandomSource {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let used = POOL_BYTES;
  return (length: number): Uint8Array => {
    if (length > LARGEST_POOLED) return randomBytes(length);
    if (used + length > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    const out = new Uint8Array(length);
    out.set(pool.subarray(used, used + length));
    pool.fill(0, used, used + length);
    used += length;
    return out;
  };
}
