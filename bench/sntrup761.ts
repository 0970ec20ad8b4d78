// Times sntrup761 key generation, encapsulation and decapsulation.
// Usage: node dist/bench/sntrup761.js [iterations]
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { sntrup761Decap, sntrup761Encap, sntrup761KeyPair } from '../src/crypto/sntrup761.js';

export interface Sntrup761BenchRow {
  readonly label: 'keypair' | 'encap' | 'decap';
  readonly msPerOp: number;
  readonly iterations: number;
}

function time(label: Sntrup761BenchRow['label'], iterations: number, fn: () => void): Sntrup761BenchRow {
  for (let i = 0; i < Math.min(20, iterations); i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return { label, msPerOp: Number(process.hrtime.bigint() - start) / 1e6 / iterations, iterations };
}

/** Wall-clock mean per operation; encap and decap run 5n times, being cheaper. */
export function benchSntrup761(n = 200): Sntrup761BenchRow[] {
  const { publicKey, secretKey } = sntrup761KeyPair(randomBytes);
  const { ciphertext } = sntrup761Encap(publicKey, randomBytes);
  return [
    time('keypair', n, () => sntrup761KeyPair(randomBytes)),
    time('encap', n * 5, () => sntrup761Encap(publicKey, randomBytes)),
    time('decap', n * 5, () => sntrup761Decap(ciphertext, secretKey)),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchSntrup761(Number(process.argv[2] ?? 200))) {
    console.log(`sntrup761 ${r.label.padEnd(8)} ${r.msPerOp.toFixed(3).padStart(8)} ms/op ${(1000 / r.msPerOp).toFixed(1).padStart(9)} ops/s`);
  }
}
