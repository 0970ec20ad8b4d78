// `npm run bench`: the transport layer's performance report, printed as
// markdown. Every Nacre figure is printed next to a reference measured in
// the same process run (bare node:crypto calls, or OpenSSH's `ssh`), so the
// ratios mean something on any machine; the absolute numbers do not.
// docs/PERFORMANCE.md explains each measurement and records a run.
//
// Sections: packet (1), kex (2), openssh-kex (3), connection (4), keys (5), nacre (6), nacred (7), sftp (8), and
// floor (9: the cheapest Node relay per hot path next to sshd; 5-9 minutes, run only when named). Run some
// with --only=connection or --only=packet,kex, or leave some out with
// --skip=connection (e.g. `npm run bench -- --only=connection`).
import { createCipheriv, createDecipheriv, createHmac, diffieHellman, generateKeyPairSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { cipherAlgorithms } from '../src/algorithms/cipher/index.js';
import { macAlgorithms } from '../src/algorithms/mac.js';
import type { AeadPacketCipher, BlockPacketCipher, CipherAlgorithm, MacAlgorithm } from '../src/algorithms/types.js';
import { PacketOpener, PacketSealer, type Protection } from '../src/core/transport/packet-protection.js';
import { constantTimeEqual } from '../src/wire/bytes.js';
import { benchChacha } from './chacha.js';
import { benchKex, type KexBenchRow } from './kex.js';
import { benchOpenSshKex, findSsh, formatOpenSshKex, median, PQ_METHOD, BASELINE_METHOD } from './openssh-kex.js';
import { benchSntrup761 } from './sntrup761.js';
import { benchConnection, formatConnection } from './connection.js';
import { keysMarkdown } from './keys.js';
import { nacreMarkdown } from './nacre.js';
import { benchServer, formatServer } from './server.js';
import { benchSftp, formatSftp } from './sftp.js';
import { benchFloor, formatFloor } from './floor.js';

const SECTIONS = ['packet', 'kex', 'openssh-kex', 'connection', 'keys', 'nacre', 'nacred', 'sftp', 'floor'] as const;
/** Evidence for a decision rather than a number to track: only with --only=floor. */
const BY_DEFAULT: readonly Section[] = SECTIONS.filter((s) => s !== 'floor');
type Section = (typeof SECTIONS)[number];

/** The sections that `--only=a,b` / `--skip=a,b` select; all by default. */
function selectedSections(argv: readonly string[]): Set<Section> {
  const list = (flag: string): Section[] | null => {
    const arg = argv.find((a) => a.startsWith(`--${flag}=`));
    if (!arg) return null;
    const names = arg.slice(flag.length + 3).split(',').filter(Boolean);
    for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`unknown bench section ${n}; sections: ${SECTIONS.join(', ')}`);
    return names as Section[];
  };
  const only = list('only');
  const skip = list('skip') ?? [];
  return new Set((only ?? BY_DEFAULT).filter((s) => !skip.includes(s)));
}

const PAYLOAD = 32 * 1024;
/** The MAC used with the non-AEAD ciphers, as the brief for this report names it. */
const BLOCK_MAC = 'hmac-sha2-256-etm@openssh.com';

// ---------------------------------------------------------------- timing

/** Best of `rounds` runs of about `ms` each, in MiB/s; a busy machine only ever makes a round slower. */
function throughput(fn: () => void, bytesPerCall: number, rounds = 4, ms = 120): number {
  for (let i = 0; i < 30; i++) fn();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 8; i++) fn();
      calls += 8;
      now = performance.now();
    }
    best = Math.max(best, (calls * bytesPerCall) / ((now - start) / 1000) / 1048576);
  }
  return best;
}

interface Row {
  readonly name: string;
  readonly nacre: number;
  /** Null when node:crypto has no such primitive (UMAC). */
  readonly raw: number | null;
  readonly rawName: string;
}

/** Alternates the two measurements so that drift in CPU frequency or load hits both. */
function compare(name: string, rawName: string, nacre: () => void, raw: (() => void) | null): Row {
  let n = 0;
  let r = 0;
  for (let i = 0; i < 2; i++) {
    if (raw) r = Math.max(r, throughput(raw, PAYLOAD));
    n = Math.max(n, throughput(nacre, PAYLOAD));
  }
  return { name, nacre: n, raw: raw ? r : null, rawName };
}

// ---------------------------------------------------------------- ciphers

function protection(alg: CipherAlgorithm, mac: MacAlgorithm, dir: 'encrypt' | 'decrypt', key: Uint8Array, iv: Uint8Array, macKey: Uint8Array): Protection {
  const c = alg.create(key, iv, dir);
  return c.kind === 'aead' ? { kind: 'aead', cipher: c as AeadPacketCipher } : { kind: 'mac', cipher: c as BlockPacketCipher, mac: mac.create(macKey), etm: mac.etm };
}

/**
 * Nacre: PacketSealer.seal + PacketOpener.readLength/open, the transport's own
 * per-packet path (framing, random padding, copies included), for a 32 KiB
 * payload. Raw: the same bytes through the bare node:crypto calls that do the
 * cryptographic work of that packet, on both sides.
 */
function cipherRow(alg: CipherAlgorithm): Row {
  const mac = macAlgorithms.find((m) => m.name === BLOCK_MAC)!;
  const key = randomBytes(alg.keyLength);
  const iv = randomBytes(alg.ivLength);
  const macKey = randomBytes(mac.keyLength);
  const random = (n: number) => randomBytes(n);
  const payload = randomBytes(PAYLOAD);
  // A throwaway sealer tells how large the packet is, without moving the streams below.
  const sample = new PacketSealer(protection(alg, mac, 'encrypt', key, iv, macKey), random).seal(0, payload);
  const tagLength = alg.aead ? 16 : mac.length;
  const packet = randomBytes(sample.length - tagLength);
  packet.writeUInt32BE(packet.length - 4, 0);

  const sealer = new PacketSealer(protection(alg, mac, 'encrypt', key, iv, macKey), random);
  const opener = new PacketOpener(protection(alg, mac, 'decrypt', key, iv, macKey));
  let seq = 0;
  const nacre = () => {
    const wire = sealer.seal(seq, payload);
    opener.readLength(seq, wire.subarray(0, opener.headerLength));
    opener.open(seq, wire);
    seq = (seq + 1) >>> 0;
  };
  const name = alg.aead ? alg.name : `${alg.name} + ${BLOCK_MAC}`;
  const head = packet.subarray(0, 4);
  const body = packet.subarray(4);

  if (alg.name.startsWith('chacha20')) {
    // OpenSSL's IETF ChaCha20-Poly1305 AEAD: the same primitives in one fused call.
    const k = key.subarray(0, 32);
    const nonce = Buffer.alloc(12);
    const raw = () => {
      const c = createCipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 });
      c.setAAD(head, { plaintextLength: body.length });
      const ct = c.update(body);
      c.final();
      const d = createDecipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 });
      d.setAAD(head, { plaintextLength: body.length });
      d.setAuthTag(c.getAuthTag());
      d.update(ct);
      d.final();
    };
    return compare(name, 'chacha20-poly1305 (IETF AEAD)', nacre, raw);
  }
  if (alg.aead) {
    const gcm = alg.keyLength === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    const raw = () => {
      const c = createCipheriv(gcm, key, iv, { authTagLength: 16 });
      c.setAAD(head);
      const ct = c.update(body);
      c.final();
      const d = createDecipheriv(gcm, key, iv, { authTagLength: 16 });
      d.setAAD(head);
      d.setAuthTag(c.getAuthTag());
      d.update(ct);
      d.final();
    };
    return compare(name, gcm, nacre, raw);
  }
  const mode = alg.name.endsWith('-cbc') ? 'cbc' : 'ctr';
  const openssl = `aes-${alg.keyLength * 8}-${mode}`;
  const enc = createCipheriv(openssl, key, iv.subarray(0, 16)).setAutoPadding(false);
  const dec = createDecipheriv(openssl, key, iv.subarray(0, 16)).setAutoPadding(false);
  const seqBytes = Buffer.alloc(4);
  let rawSeq = 0;
  const raw = () => {
    seqBytes.writeUInt32BE(rawSeq++ >>> 0, 0);
    const ct = enc.update(body);
    const tag = createHmac('sha256', macKey).update(seqBytes).update(head).update(ct).digest();
    const check = createHmac('sha256', macKey).update(seqBytes).update(head).update(ct).digest();
    timingSafeEqual(tag, check);
    dec.update(ct);
  };
  return compare(name, `${openssl} + hmac-sha256`, nacre, raw);
}

// ---------------------------------------------------------------- MACs

/** Sender computes, receiver computes and compares: what one packet costs in MAC work. */
function macRow(alg: MacAlgorithm): Row {
  const key = randomBytes(alg.keyLength);
  const data = randomBytes(PAYLOAD);
  const tx = alg.create(key);
  const rx = alg.create(key);
  let seq = 0;
  const nacre = () => {
    const tag = tx.compute(seq, data);
    constantTimeEqual(rx.compute(seq, data), tag);
    seq = (seq + 1) >>> 0;
  };
  const hash = /sha2-512/.test(alg.name) ? 'sha512' : /sha2-256/.test(alg.name) ? 'sha256' : /sha1/.test(alg.name) ? 'sha1' : null;
  if (!hash) return compare(alg.name, 'none in node:crypto', nacre, null);
  const seqBytes = Buffer.alloc(4);
  let rawSeq = 0;
  const raw = () => {
    seqBytes.writeUInt32BE(rawSeq++ >>> 0, 0);
    const tag = createHmac(hash, key).update(seqBytes).update(data).digest().subarray(0, alg.length);
    timingSafeEqual(createHmac(hash, key).update(seqBytes).update(data).digest().subarray(0, alg.length), tag);
  };
  return compare(alg.name, `hmac ${hash}`, nacre, raw);
}

// ---------------------------------------------------------------- kex floor

/**
 * CPU ms of one key pair generation plus one shared-secret derivation with
 * bare node:crypto calls (median of 31): the least an ECDH method can cost
 * per side before hashing and, on the server, signing.
 */
function ecdhFloorMs(method: string): number | null {
  const curve = /nistp256/.test(method) ? 'prime256v1' : /nistp384/.test(method) ? 'secp384r1' : /nistp521/.test(method) ? 'secp521r1' : null;
  let generate: () => { privateKey: KeyObject; publicKey: KeyObject };
  if (curve) generate = () => generateKeyPairSync('ec', { namedCurve: curve });
  else if (/^curve25519/.test(method)) generate = () => generateKeyPairSync('x25519');
  else return null;
  const peer = generate();
  const once = () => diffieHellman({ privateKey: generate().privateKey, publicKey: peer.publicKey });
  for (let i = 0; i < 5; i++) once();
  const xs: number[] = [];
  for (let i = 0; i < 31; i++) {
    const c = process.cpuUsage();
    once();
    const d = process.cpuUsage(c);
    xs.push((d.user + d.system) / 1000);
  }
  return median(xs);
}

function kexTable(rows: readonly KexBenchRow[]): void {
  console.log('| method | client ms | server ms | runs | node:crypto keygen+derive ms | target: < 5 ms per side |\n|---|---:|---:|---:|---:|---|');
  const misses: string[] = [];
  for (const r of rows) {
    const exempt = /^diffie-hellman|sntrup761/.test(r.name);
    const ok = r.clientMs < 5 && r.serverMs < 5;
    if (!exempt && !ok) misses.push(r.name);
    const floor = ecdhFloorMs(r.name);
    console.log(`| ${r.name} | ${r.clientMs.toFixed(2)} | ${r.serverMs.toFixed(2)} | ${r.runs} | ${floor === null ? '—' : floor.toFixed(2)} | ${exempt ? 'exempt' : verdict(ok)} |`);
  }
  targets.push(`every non-DH, non-sntrup761 kex < 5 ms CPU per side: ${misses.length ? `${verdict(false)} (${misses.join(', ')})` : verdict(true)}`);
}

// ---------------------------------------------------------------- report

const verdict = (ok: boolean) => (ok ? '**PASS**' : '**MISS**');
const targets: string[] = [];

function cipherTarget(r: Row): string {
  if (r.name === 'aes128-gcm@openssh.com' && r.raw) {
    const ok = r.nacre >= 0.6 * r.raw;
    targets.push(`aes128-gcm seal+open >= 60% of node:crypto AES-128-GCM: ${((r.nacre / r.raw) * 100).toFixed(0)}% ${verdict(ok)}`);
    return `>= 60% of raw: ${verdict(ok)}`;
  }
  if (r.name.startsWith('chacha20-poly1305')) {
    const ok = r.nacre >= 800;
    targets.push(`chacha20-poly1305 seal+open >= 800 MiB/s: ${r.nacre.toFixed(0)} MiB/s ${verdict(ok)}`);
    return `>= 800 MiB/s: ${verdict(ok)}`;
  }
  return '';
}

function table(title: string, rows: readonly Row[], target?: (r: Row) => string): void {
  console.log(`\n### ${title}\n`);
  console.log(`| algorithm | Nacre MiB/s | node:crypto reference | reference MiB/s | Nacre / reference |${target ? ' target |' : ''}`);
  console.log(`|---|---:|---|---:|---:|${target ? '---|' : ''}`);
  for (const r of rows) {
    const raw = r.raw === null ? '—' : r.raw.toFixed(0);
    const ratio = r.raw === null ? '—' : `${((r.nacre / r.raw) * 100).toFixed(0)}%`;
    console.log(`| ${r.name} | ${r.nacre.toFixed(0)} | ${r.rawName} | ${raw} | ${ratio} |${target ? ` ${target(r)} |` : ''}`);
  }
}

function machine(): void {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux: os.cpus() is the best there is
  }
  const ssh = findSsh();
  console.log('# Nacre transport benchmark\n');
  console.log(`- CPU: ${cpu} (${cpus().length} logical CPUs visible)`);
  console.log(`- Node.js ${process.version}, OpenSSL ${process.versions.openssl}, V8 ${process.versions.v8}, Linux ${release()}`);
  console.log(`- OpenSSH: ${ssh ? ssh.version : 'NOT INSTALLED'}`);
  console.log(`- date: ${new Date().toISOString()}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const run = selectedSections(process.argv.slice(2));
  machine();

  if (run.has('packet')) {
    console.log(`\n## 1. Packet protection throughput, ${PAYLOAD / 1024} KiB payloads, seal + open`);
    table('Ciphers (Nacre = PacketSealer.seal + PacketOpener.readLength/open)', cipherAlgorithms.map(cipherRow), cipherTarget);
    table('MACs alone (compute on the sender + compute and compare on the receiver)', macAlgorithms.map(macRow));

    console.log('\n### chacha20-poly1305@openssh.com breakdown (bench/chacha.ts)\n');
    console.log('| operation | µs per op | MiB/s |\n|---|---:|---:|');
    for (const r of benchChacha(PAYLOAD, 4, 120)) {
      console.log(`| ${r.name.trim()} | ${r.microsPerOp.toFixed(2)} | ${r.bytesPerOp < 64 ? '—' : r.mibPerSecond.toFixed(0)} |`);
    }
  }

  if (run.has('kex')) {
    console.log('\n## 2. Key exchange CPU per side (bench/kex.ts; ms, median, ed25519 host key signing on the server)\n');
    // Measured before the kex table: these calls also bring the sntrup761 code
    // to its optimized tier, which benchKex's three warm-up exchanges do not.
    const sntrup = benchSntrup761(40);
    kexTable(benchKex(31));

    console.log('\n### sntrup761 primitives (bench/sntrup761.ts; wall ms per op, warm)\n');
    console.log('| operation | ms | runs |\n|---|---:|---:|');
    for (const r of sntrup) console.log(`| ${r.label} | ${r.msPerOp.toFixed(3)} | ${r.iterations} |`);
  }

  if (run.has('openssh-kex')) await opensshKexSection();

  if (run.has('connection')) {
    console.log('\n## 4. Connections: Nacre vs OpenSSH vs ssh2 (bench/connection.ts)\n');
    try {
      const { markdown, targets: t } = formatConnection(await benchConnection());
      console.log(markdown);
      targets.push(...t);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.error(`\n!!! connection benchmark failed: ${why}\n`);
      console.log(`**SKIPPED: ${why}.**`);
      targets.push(`connection benchmarks: **SKIPPED** (${why})`);
    }
  }

  if (run.has('keys')) {
    console.log('\n## 5. Keys: generation, certificate checks, nacre-keygen start-up (bench/keys.ts)\n');
    console.log(keysMarkdown());
  }

  if (run.has('nacre')) {
    console.log('\n## 6. The nacre command next to ssh: whole commands, shared connections, -L, start-up (bench/nacre.ts)\n');
    try {
      console.log(await nacreMarkdown());
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.log(`**SKIPPED: ${why}.**`);
      targets.push(`nacre benchmarks: **SKIPPED** (${why})`);
    }
  }

  if (run.has('nacred')) {
    console.log('\n## 7. nacred: the server as a process, next to sshd and the ssh2 server (bench/server.ts)\n');
    try {
      const { markdown, targets: t } = formatServer(await benchServer());
      console.log(markdown);
      targets.push(...t);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.log(`**SKIPPED: ${why}.**`);
      targets.push(`nacred benchmarks: **SKIPPED** (${why})`);
    }
  }

  if (run.has('sftp')) {
    console.log('\n## 8. SFTP: 1 GiB and 1,000 small files, Nacre next to OpenSSH and ssh2 (bench/sftp.ts)\n');
    try {
      const { markdown, targets: t } = formatSftp(await benchSftp());
      console.log(markdown);
      targets.push(...t);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.log(`**SKIPPED: ${why}.**`);
      targets.push(`sftp benchmarks: **SKIPPED** (${why})`);
    }
  }

  if (run.has('floor')) {
    console.log('\n## 9. The floor: the cheapest Node relay per hot path, next to sshd and nacred (bench/floor.ts)\n');
    try {
      console.log(formatFloor(await benchFloor()));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      console.log(`**SKIPPED: ${why}.**`);
    }
  }

  console.log('\n## Targets\n');
  for (const t of targets) console.log(`- ${t}`);
  console.log(`\n(bench run took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

async function opensshKexSection(): Promise<void> {
  console.log(`\n## 3. ${PQ_METHOD}: Nacre client vs OpenSSH ssh (bench/openssh-kex.ts)\n`);
  let pq: Awaited<ReturnType<typeof benchOpenSshKex>> = null;
  let failure = 'OpenSSH `ssh` (9.9 or later) is not installed; scripts/install-test-peers.sh installs it';
  try {
    pq = await benchOpenSshKex();
  } catch (err) {
    failure = `the comparison failed: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`\n!!! ${failure}\n`);
  }
  if (pq) {
    console.log(formatOpenSshKex(pq));
    const ssh = pq.clients[0]!;
    const refCpu = ssh.byMethod[PQ_METHOD].cpuMs - ssh.byMethod[BASELINE_METHOD].cpuMs;
    for (const c of pq.clients.slice(1)) {
      const cpu = c.byMethod[PQ_METHOD].cpuMs - c.byMethod[BASELINE_METHOD].cpuMs;
      targets.push(`${PQ_METHOD} marginal client CPU, ${c.client} / OpenSSH <= 1.0: ${refCpu > 0.5 ? `${(cpu / refCpu).toFixed(3)} ${verdict(cpu <= refCpu)}` : 'n/a'}`);
    }
  } else {
    console.log(`**SKIPPED: ${failure}.**`);
    targets.push(`${PQ_METHOD} vs OpenSSH: **SKIPPED** (${failure})`);
  }
}

await main();
