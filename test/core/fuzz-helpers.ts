// Mutations for fuzz-style parser tests: truncations, bit flips, byte
// insertions and deletions of good samples, and plain random bytes, all from a
// seeded source so a failure repeats.
import { seededRandom } from '../../src/testing/random.js';

export function* mutations(seed: string, samples: readonly Uint8Array[], count: number): Generator<Uint8Array> {
  const random = seededRandom(seed);
  const int = (n: number) => (n <= 0 ? 0 : (random(4)[0]! * 16777216 + random(3).reduce((a, b) => a * 256 + b, 0)) % n);
  for (const s of samples) for (let cut = 0; cut < s.length; cut += Math.max(1, s.length >> 6)) yield s.subarray(0, cut);
  for (let i = 0; i < count; i++) {
    const s = samples[i % samples.length]!;
    const kind = i % 5;
    if (kind === 4) {
      yield random(int(300));
      continue;
    }
    const b = new Uint8Array(s);
    if (kind === 0 || kind === 1) {
      // one or a few flipped bits
      for (let k = 0; k <= kind * 3; k++) {
        const at = int(b.length);
        b[at]! ^= 1 << int(8);
      }
      yield b;
    } else if (kind === 2) {
      const at = int(b.length);
      yield new Uint8Array([...b.subarray(0, at), ...random(1 + int(8)), ...b.subarray(at)]);
    } else {
      const at = int(b.length);
      yield new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1 + int(8))]);
    }
  }
}

/** Runs `parse` on every mutation; any error other than those `allowed` fails the test with the input. */
export function fuzz(seed: string, samples: readonly Uint8Array[], count: number, parse: (input: Uint8Array) => unknown, allowed: (err: unknown) => boolean): number {
  let n = 0;
  for (const input of mutations(seed, samples, count)) {
    n++;
    try {
      parse(input);
    } catch (err) {
      if (!allowed(err)) throw new Error(`unexpected ${String(err)} for input ${Buffer.from(input).toString('hex')}`, { cause: err });
    }
  }
  return n;
}
