// Micro benchmark for chacha20-poly1305@openssh.com against raw node:crypto.
// Run after compiling: node dist/bench/chacha.js [packetBytes]
// Prints MiB/s; each figure is the best of several rounds (the machine may be shared).
import { createCipheriv, randomBytes } from 'node:crypto';
import { chacha20Poly1305 } from '../src/algorithms/cipher/chacha20-poly1305.js';
import { poly1305 } from '../src/crypto/poly1305.js';
import type { AeadPacketCipher } from '../src/algorithms/types.js';

const SIZE = Number(process.argv[2] ?? 32768);
const ROUNDS = 7;
const MIN_MS = 150;

function best(name: string, bytesPerOp: number, op: (i: number) => void): number {
  for (let i = 0; i < 200; i++) op(i);
  let bestNs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < MIN_MS * 1e6) {
      for (let k = 0; k < 50; k++) op(n++);
      elapsed = Number(process.hrtime.bigint() - start);
    }
    bestNs = Math.min(bestNs, elapsed / n);
  }
  const mib = bytesPerOp / bestNs * 1e9 / 1048576;
  console.log(`${name.padEnd(44)} ${(bestNs / 1000).toFixed(2).padStart(8)} us/op ${mib.toFixed(0).padStart(7)} MiB/s`);
  return mib;
}

const key = randomBytes(64);
const packet = Buffer.alloc(SIZE);
randomBytes(SIZE).copy(packet);
packet.writeUInt32BE(SIZE - 4, 0);
const enc = chacha20Poly1305.create(key, new Uint8Array(0), 'encrypt') as AeadPacketCipher;
const dec = chacha20Poly1305.create(key, new Uint8Array(0), 'decrypt') as AeadPacketCipher;
const wires: Uint8Array[] = [];
for (let i = 0; i < 1024; i++) wires.push(enc.seal(i, packet));

console.log(`packet ${SIZE} bytes, node ${process.version}, openssl ${process.versions.openssl}`);
const iv = Buffer.alloc(16);
const data = packet.subarray(4);
best('chacha20-poly1305@openssh.com seal+open', SIZE, (i) => {
  const w = enc.seal(i, packet);
  dec.peekLength(i, w);
  dec.open(i, w);
});
best('  seal only', SIZE, (i) => enc.seal(i, packet));
best('  peekLength+open only', SIZE, (i) => {
  const s = i & 1023;
  dec.peekLength(s, wires[s]!);
  dec.open(s, wires[s]!);
});
const polyKey = randomBytes(32);
best('  poly1305 (wasm) alone', SIZE, () => poly1305(polyKey, packet));
best('node chacha20: createCipheriv+update', SIZE, (i) => {
  iv.writeUInt32BE(i, 12);
  createCipheriv('chacha20', key.subarray(0, 32), iv).update(data);
});
best('node chacha20: createCipheriv+update(4 bytes)', 4, (i) => {
  iv.writeUInt32BE(i, 12);
  createCipheriv('chacha20', key.subarray(0, 32), iv).update(data.subarray(0, 4));
});
const gcmKey = key.subarray(0, 16);
const gcmIv = Buffer.alloc(12);
best('node aes-128-gcm: encrypt (create+update+final+tag)', SIZE, (i) => {
  gcmIv.writeUInt32BE(i, 8);
  const c = createCipheriv('aes-128-gcm', gcmKey, gcmIv);
  c.update(data);
  c.final();
  c.getAuthTag();
});
