// Times sntrup761 key generation, encapsulation and decapsulation.
// Usage: node dist/bench/sntrup761.js [iterations]
import { randomBytes } from 'node:crypto';
import { sntrup761Decap, sntrup761Encap, sntrup761KeyPair } from '../src/crypto/sntrup761.js';

const n = Number(process.argv[2] ?? 200);

function time(label: string, iterations: number, fn: () => void): void {
  for (let i = 0; i < Math.min(20, iterations); i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / iterations;
  console.log(`sntrup761 ${label.padEnd(8)} ${ms.toFixed(3).padStart(8)} ms/op ${(1000 / ms).toFixed(1).padStart(9)} ops/s`);
}

const { publicKey, secretKey } = sntrup761KeyPair(randomBytes);
const { ciphertext } = sntrup761Encap(publicKey, randomBytes);
time('keypair', n, () => sntrup761KeyPair(randomBytes));
time('encap', n * 5, () => sntrup761Encap(publicKey, randomBytes));
time('decap', n * 5, () => sntrup761Decap(ciphertext, secretKey));
