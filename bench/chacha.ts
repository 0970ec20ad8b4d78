// Micro benchmark for chacha20-poly1305@openssh.com against raw node:crypto:
// where the time of one seal+open goes (the two chacha20 streams, the WASM
// poly1305, node:crypto's per-call setup).
// Run after compiling: node dist/bench/chacha.js [packetBytes]
// Each figure is the best of several rounds (the machine may be shared).
import { createCipheriv, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { chacha20Poly1305 } from '../src/algorithms/cipher/chacha20-poly1305.js';
import { poly1305 } from '../src/crypto/poly1305.js';
import type { AeadPacketCipher } from '../src/algorithms/types.js';

export interface ChachaBenchRow {
  readonly name: string;
  readonly bytesPerOp: number;
  readonly microsPerOp: number;
  readonly mibPerSecond: number;
}

function best(name: string, bytesPerOp: number, rounds: number, minMs: number, op: (i: number) => void): ChachaBenchRow {
  for (let i = 0; i < 200; i++) op(i);
  let bestNs = Infinity;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < minMs * 1e6) {
      for (let k = 0; k < 50; k++) op(n++);
      elapsed = Number(process.hrtime.bigint() - start);
    }
    bestNs = Math.min(bestNs, elapsed / n);
  }
  return { name, bytesPerOp, microsPerOp: bestNs / 1000, mibPerSecond: (bytesPerOp / bestNs) * 1e9 / 1048576 };
}

/** The breakdown of one chacha20-poly1305@openssh.com seal+open of a `size`-byte packet. */
export function benchChacha(size = 32768, rounds = 7, minMs = 150): ChachaBenchRow[] {
  const key = randomBytes(64);
  const packet = Buffer.alloc(size);
  randomBytes(size).copy(packet);
  packet.writeUInt32BE(size - 4, 0);
  const enc = chacha20Poly1305.create(key, new Uint8Array(0), 'encrypt') as AeadPacketCipher;
  const dec = chacha20Poly1305.create(key, new Uint8Array(0), 'decrypt') as AeadPacketCipher;
  const wires: Uint8Array[] = [];
  for (let i = 0; i < 1024; i++) wires.push(enc.seal(i, packet));
  const iv = Buffer.alloc(16);
  const data = packet.subarray(4);
  const polyKey = randomBytes(32);
  const gcmKey = key.subarray(0, 16);
  const gcmIv = Buffer.alloc(12);
  const rows: ChachaBenchRow[] = [];
  const add = (name: string, bytes: number, op: (i: number) => void) => rows.push(best(name, bytes, rounds, minMs, op));
  add('chacha20-poly1305@openssh.com seal+open', size, (i) => {
    const w = enc.seal(i, packet);
    dec.peekLength(i, w);
    dec.open(i, w);
  });
  add('  seal only', size, (i) => enc.seal(i, packet));
  add('  peekLength+open only', size, (i) => {
    const s = i & 1023;
    dec.peekLength(s, wires[s]!);
    dec.open(s, wires[s]!);
  });
  add('  poly1305 (wasm) alone', size, () => poly1305(polyKey, packet));
  add('node chacha20: createCipheriv+update', size, (i) => {
    iv.writeUInt32BE(i, 12);
    createCipheriv('chacha20', key.subarray(0, 32), iv).update(data);
  });
  add('node chacha20: createCipheriv+update(4 bytes)', 4, (i) => {
    iv.writeUInt32BE(i, 12);
    createCipheriv('chacha20', key.subarray(0, 32), iv).update(data.subarray(0, 4));
  });
  add('node aes-128-gcm: encrypt (create+update+final+tag)', size, (i) => {
    gcmIv.writeUInt32BE(i, 8);
    const c = createCipheriv('aes-128-gcm', gcmKey, gcmIv);
    c.update(data);
    c.final();
    c.getAuthTag();
  });
  return rows;
}

export function formatChachaBench(rows: readonly ChachaBenchRow[]): string {
  return rows
    .map((r) => `${r.name.padEnd(52)} ${r.microsPerOp.toFixed(2).padStart(8)} us/op ${r.mibPerSecond.toFixed(0).padStart(7)} MiB/s`)
    .join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = Number(process.argv[2] ?? 32768);
  console.log(`packet ${size} bytes, node ${process.version}, openssl ${process.versions.openssl}`);
  console.log(formatChachaBench(benchChacha(size)));
}
