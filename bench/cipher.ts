// Packet cipher throughput: seal+open (encrypt+decrypt for CTR/CBC) of 32 KiB
// packets through Nacre's AES ciphers, next to the same work done with bare
// node:crypto calls in the same run, so the ratio shows what the SSH framing
// costs and is independent of the machine.
// Run: node dist/bench/cipher.js
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { AeadPacketCipher, BlockPacketCipher, CipherAlgorithm } from '../src/algorithms/types.js';
import { aes128Gcm, aes256Gcm } from '../src/algorithms/cipher/aes-gcm.js';
import { aes128Ctr, aes192Ctr, aes256Ctr } from '../src/algorithms/cipher/aes-ctr.js';
import { aes128Cbc, aes256Cbc } from '../src/algorithms/cipher/aes-cbc.js';

const PACKET = 32 * 1024;

export interface CipherBenchRow {
  readonly name: string;
  /** Nacre seal+open, MiB of packet per second. */
  readonly nacre: number;
  /** The same work with direct node:crypto calls. */
  readonly raw: number;
  readonly ratio: number;
}

/** Best of `rounds` timings of `fn` run for about `ms` milliseconds each; returns MiB/s. */
function measure(fn: () => void, bytesPerCall: number, rounds = 5, ms = 200): number {
  for (let i = 0; i < 50; i++) fn();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ms) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 20; i++) fn();
      calls += 20;
      now = process.hrtime.bigint();
    }
    const seconds = Number(now - start) / 1e9;
    best = Math.max(best, (calls * bytesPerCall) / seconds / (1024 * 1024));
  }
  return best;
}

/**
 * A plaintext packet whose encrypted part is PACKET bytes: for GCM that is
 * everything after the clear length field, for CTR/CBC the whole packet.
 */
function makePacket(aead: boolean): Uint8Array {
  const total = aead ? PACKET + 4 : PACKET;
  const p = randomBytes(total);
  p.writeUInt32BE(total - 4, 0);
  p[4] = aead ? 16 : 12;
  return p;
}

function gcmRow(alg: CipherAlgorithm, bits: 128 | 256): CipherBenchRow {
  const key = randomBytes(alg.keyLength);
  const iv = randomBytes(alg.ivLength);
  const tx = alg.create(key, iv, 'encrypt') as AeadPacketCipher;
  const rx = alg.create(key, iv, 'decrypt') as AeadPacketCipher;
  const pkt = makePacket(true);
  let seq = 0;
  const nacre = () => {
    rx.open(seq, tx.seal(seq, pkt));
    seq = (seq + 1) >>> 0;
  };
  const gcmName = `aes-${bits}-gcm` as const;
  const head = pkt.subarray(0, 4);
  const body = pkt.subarray(4);
  const raw = () => {
    const c = createCipheriv(gcmName, key, iv, { authTagLength: 16 });
    c.setAAD(head);
    const ct = c.update(body);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv(gcmName, key, iv, { authTagLength: 16 });
    d.setAAD(head);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  };
  return row(alg.name, nacre, raw);
}

function blockRow(alg: CipherAlgorithm, openssl: string): CipherBenchRow {
  const key = randomBytes(alg.keyLength);
  const iv = randomBytes(16);
  const tx = alg.create(key, iv, 'encrypt') as BlockPacketCipher;
  const rx = alg.create(key, iv, 'decrypt') as BlockPacketCipher;
  const pkt = makePacket(false);
  const nacre = () => {
    rx.update(tx.update(pkt));
  };
  const c = createCipheriv(openssl, key, iv).setAutoPadding(false);
  const d = createDecipheriv(openssl, key, iv).setAutoPadding(false);
  const raw = () => {
    d.update(c.update(pkt));
  };
  return row(alg.name, nacre, raw);
}

function row(name: string, nacre: () => void, raw: () => void): CipherBenchRow {
  // Interleave the two measurements so that CPU frequency drift hits both.
  let n = 0;
  let r = 0;
  for (let i = 0; i < 2; i++) {
    r = Math.max(r, measure(raw, PACKET));
    n = Math.max(n, measure(nacre, PACKET));
  }
  return { name, nacre: n, raw: r, ratio: n / r };
}

export function benchCiphers(): CipherBenchRow[] {
  return [
    gcmRow(aes128Gcm, 128),
    gcmRow(aes256Gcm, 256),
    blockRow(aes128Ctr, 'aes-128-ctr'),
    blockRow(aes192Ctr, 'aes-192-ctr'),
    blockRow(aes256Ctr, 'aes-256-ctr'),
    blockRow(aes128Cbc, 'aes-128-cbc'),
    blockRow(aes256Cbc, 'aes-256-cbc'),
  ];
}

export function printCipherBench(rows: readonly CipherBenchRow[]): void {
  console.log(`cipher seal+open, ${PACKET / 1024} KiB packets (MiB/s)`);
  console.log(`${'cipher'.padEnd(26)}${'nacre'.padStart(10)}${'node:crypto'.padStart(13)}${'ratio'.padStart(8)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(26)}${r.nacre.toFixed(0).padStart(10)}${r.raw.toFixed(0).padStart(13)}${(r.ratio * 100).toFixed(0).padStart(7)}%`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printCipherBench(benchCiphers());
}
