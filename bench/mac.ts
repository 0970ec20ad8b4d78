// Throughput of every registered MAC on SSH-sized packets. Run directly
// (`node dist/bench/mac.js [packetBytes]`) or import `benchMacs` from a suite.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { macAlgorithms } from '../src/algorithms/mac.js';

export interface MacBenchResult {
  readonly name: string;
  readonly packetBytes: number;
  readonly mibPerSecond: number;
  readonly microsPerPacket: number;
}

/**
 * Times each MAC over consecutive sequence numbers for about `millis` ms apiece,
 * split into rounds; the best round counts, since a busy machine only ever
 * makes a round slower.
 */
export function benchMacs(packetBytes = 32768, millis = 500, rounds = 5): MacBenchResult[] {
  const packet = randomBytes(packetBytes);
  const results: MacBenchResult[] = [];
  for (const alg of macAlgorithms) {
    const m = alg.create(randomBytes(alg.keyLength));
    let seq = 0;
    // Warm up so the optimizing compiler has seen the hot loops.
    for (const end = performance.now() + millis / 4; performance.now() < end; ) m.compute(seq++, packet);
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      let count = 0;
      const start = performance.now();
      let now = start;
      while (now - start < millis / rounds) {
        for (let i = 0; i < 16; i++) m.compute(seq++, packet);
        count += 16;
        now = performance.now();
      }
      best = Math.min(best, (now - start) / 1000 / count);
    }
    results.push({
      name: alg.name,
      packetBytes,
      mibPerSecond: packetBytes / best / 1048576,
      microsPerPacket: best * 1e6,
    });
  }
  return results;
}

export function formatMacBench(results: readonly MacBenchResult[]): string {
  return results
    .map((r) => `${r.name.padEnd(31)} ${r.packetBytes} B  ${r.mibPerSecond.toFixed(1).padStart(8)} MiB/s  ${r.microsPerPacket.toFixed(2).padStart(8)} us/packet`)
    .join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = Number(process.argv[2] ?? 32768);
  console.log(formatMacBench(benchMacs(Number.isInteger(size) && size > 0 ? size : 32768)));
}
