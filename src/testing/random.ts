// Deterministic randomness for tests: SHA-256 in counter mode over a seed.
import { createHash } from 'node:crypto';
import type { RandomSource } from '../algorithms/types.js';

export function seededRandom(seed: string | number): RandomSource {
  let counter = 0;
  const key = String(seed);
  return (length: number) => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const block = createHash('sha256').update(`${key}:${counter++}`).digest();
      const take = Math.min(block.length, length - filled);
      out.set(block.subarray(0, take), filled);
      filled += take;
    }
    return out;
  };
}
