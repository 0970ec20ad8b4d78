// The `nacred` section of `npm run bench` (issue 12 §8): the server as an
// operator runs it, next to OpenSSH's sshd and the `ssh2` package's server,
// in one run:
//   - connection rate (handshake + publickey authentication + close) at
//     concurrency 16 and 64, one load generator (the Nacre client library in
//     this process, curve25519-sha256 for every server) for all of them;
//     the servers: nacred (the command; the targets are its), the same code
//     as a library server in a Node child (for its heap breakdown), sshd and
//     the ssh2 server;
//   - memory per idle authenticated connection at 1000 connections (RSS of
//     the server process from /proc, and its heap breakdown over IPC);
//   - exec download and upload through the server's process path
//     (`head -c N /dev/zero`, `cat > /dev/null`), OpenSSH's `ssh` as the client
//     of both the Nacre server and sshd;
//   - throughput through `ssh -L` with each as the server.
//
// Run: node dist/bench/server.js [--quick]   (or npm run bench -- --only=nacred)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Client } from '../src/client/client.js';
import { parseOpenSshPublicKeyLine, signerFromPrivateKeyFile } from '../src/keys/index.js';
import { findOpenSsh, keygen, tempDir, type OpenSsh } from '../test/interop/openssh.js';
import { rate } from './connection.js';
import { sshClient, startBenchSshd, writeKnownHosts, type ClientDriver, type Credentials, type Direction, type Target } from './connection-peers.js';
import { commonArgs, forwardThroughput, type Tool } from './nacre.js';
import { startNacreServer, startNacredBinary, type NodeMemory, type ServerProcess } from './server-nacre.js';
import { startSsh2Server } from './server-ssh2.js';

const MiB = 1024 * 1024;
/** Every server gets the same key exchange: ssh2 has no ML-KEM or sntrup761. */
const RATE_KEX = 'curve25519-sha256';

export const SERVER_PARTS = ['rate', 'memory', 'exec', 'forward'] as const;
export type ServerPart = (typeof SERVER_PARTS)[number];

export interface ServerBenchOptions {
  readonly parts: readonly ServerPart[];
  /** Key exchange of the idle connections; null: the client's default (each server's best). */
  readonly memoryKex: string | null;
  /**
   * Seconds between the last idle connection opened and the probe. At 1 the
   * figure includes how far the young generation and the malloc arena grew
   * while the connections came in; after ~20 s idle V8's memory reducer has
   * shrunk the young generation again (PERFORMANCE.md, round 5 xport5).
   */
  readonly memorySettleSeconds: number;
  readonly rateSeconds: number;
  readonly concurrencies: readonly number[];
  readonly rateRounds: number;
  readonly idleConnections: number;
  readonly bulkBytes: number;
  readonly bulkRounds: number;
  readonly bulkCiphers: readonly string[];
  readonly forwardBytes: number;
  readonly forwardRounds: number;
  /** `default`: what ssh picks by itself. */
  readonly forwardCiphers: readonly string[];
}

export const SERVER_DEFAULTS: ServerBenchOptions = {
  parts: SERVER_PARTS,
  memoryKex: null,
  memorySettleSeconds: 1,
  rateSeconds: 5,
  concurrencies: [16, 64],
  rateRounds: 2,
  idleConnections: 1000,
  bulkBytes: 1024 * MiB,
  bulkRounds: 3,
  bulkCiphers: ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'],
  forwardBytes: 512 * MiB,
  forwardRounds: 3,
  forwardCiphers: ['default', 'aes128-gcm@openssh.com'],
};

export const SERVER_QUICK: ServerBenchOptions = {
  parts: SERVER_PARTS,
  memoryKex: null,
  memorySettleSeconds: 1,
  rateSeconds: 2,
  concurrencies: [16, 64],
  rateRounds: 1,
  idleConnections: 1000,
  bulkBytes: 256 * MiB,
  bulkRounds: 1,
  bulkCiphers: ['aes128-gcm@openssh.com'],
  forwardBytes: 128 * MiB,
  forwardRounds: 1,
  forwardCiphers: ['default'],
};

// ---------------------------------------------------------------- /proc

/** CPU ms of `pid` and of its children it has reaped (utime, stime, cutime, cstime); null without /proc. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5), counted from 3 after the command name.
    const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
    return ticks.every(Number.isFinite) ? (ticks.reduce((a, b) => a + b, 0) * 1000) / 100 : null;
  } catch {
    return null;
  }
}

/** Resident set size of `pid` in bytes (VmRSS); null without /proc. */
export function processRss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Raises this process's descriptor limit (its children inherit it) so that
 * 1000 loopback connections fit: each takes a descriptor here and one in the
 * server. The hard limit too where that is allowed (root with
 * CAP_SYS_RESOURCE), else the soft limit up to the hard one. Returns the soft
 * limit in force.
 */
export function raiseDescriptorLimit(want: number): number {
  const read = () => {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const n = (x: string | undefined) => (x === undefined || x === 'unlimited' ? Infinity : Number(x));
    return { soft: n(m?.[1]), hard: n(m?.[2]) };
  };
  const set = (soft: number, hard: number) => spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard === Infinity ? 'unlimited' : hard}`], { stdio: 'ignore' }).status === 0;
  const { soft, hard } = read();
  if (soft >= want) return soft;
  if (hard < want && set(want, want)) return read().soft;
  set(Math.min(want, hard), hard);
  return read().soft;
}

// ---------------------------------------------------------------- load generator

interface Server extends Target {
  readonly name: string;
  readonly pid: number;
  readonly nodeMemory?: () => Promise<NodeMemory>;
}

/** The user key, parsed once: the load generator should cost as little CPU as it can (it shares the machine). */
const signers = new Map<string, ReturnType<typeof signerFromPrivateKeyFile>>();

/** `kex` null: the client's default list (each server's best). */
function nacreOptions(cred: Credentials, t: Target, kex: string | null = RATE_KEX) {
  let signer = signers.get(cred.keyText);
  if (!signer) signers.set(cred.keyText, (signer = signerFromPrivateKeyFile(cred.keyText)));
  return {
    host: '127.0.0.1',
    port: t.port,
    username: cred.user,
    privateKey: signer,
    verifyHostKey: (info: { key: Uint8Array }) => t.hostKeyBlob.equals(Buffer.from(info.key)),
    ...(kex ? { algorithms: { kex: [kex] } } : {}),
  };
}

/** The load generator: the Nacre client library, handshake + authentication + close. */
function authAndClose(cred: Credentials): ClientDriver {
  const unused = () => Promise.reject(new Error('not part of this benchmark'));
  return {
    name: `Nacre client (${RATE_KEX}), auth + close`,
    async once(t) {
      const c = await connect(nacreOptions(cred, t));
      await c.close();
    },
    probe: unused,
    bulk: unused,
  };
}

interface RateCell {
  readonly perSecond: number;
  readonly failed: number;
  /** CPU of the server process and the processes it reaped, per completed connection. */
  readonly serverCpuMs: number;
  /** CPU of the load generator (this process), per completed connection. */
  readonly clientCpuMs: number;
}

async function rateCell(cred: Credentials, s: Server, concurrency: number, seconds: number): Promise<RateCell> {
  const cpu0 = processCpuMs(s.pid);
  const client0 = process.cpuUsage();
  const r = await rate(authAndClose(cred), s, { concurrency, rateSeconds: seconds });
  const client = process.cpuUsage(client0);
  // sshd reaps its per-connection processes a moment after they exit.
  await new Promise((done) => setTimeout(done, 300));
  const cpu1 = processCpuMs(s.pid);
  const per = (ms: number) => (r.completed > 0 ? ms / r.completed : NaN);
  return { perSecond: r.perSecond, failed: r.failed, serverCpuMs: cpu0 !== null && cpu1 !== null ? per(cpu1 - cpu0) : NaN, clientCpuMs: per((client.user + client.system) / 1000) };
}

interface MemoryCell {
  readonly connections: number;
  /** Per connection, bytes: RSS from /proc; the rest from the server's process.memoryUsage() when it gives one. */
  readonly rss: number;
  readonly heapUsed?: number;
  readonly external?: number;
  readonly arrayBuffers?: number;
  /** RSS of the server with `connections` idle connections, bytes. */
  readonly rssTotal: number;
}

/** Opens `n` authenticated connections (32 at a time), holds them idle, measures the server, closes them. */
async function memoryCell(cred: Credentials, s: Server, n: number, kex: string | null, fdLimit: number, settleSeconds: number): Promise<MemoryCell> {
  if (fdLimit < n + 100) throw new Error(`${n} connections need about ${n + 100} descriptors and the limit is ${fdLimit}; raise it (ulimit -n; a hard limit above it needs CAP_SYS_RESOURCE)`);
  // Warm-up: code compiled, pools and caches filled, before the baseline.
  for (let i = 0; i < 20; i++) await authAndClose(cred).once(s);
  await settle();
  const before = await probe(s);
  const clients: Client[] = [];
  try {
    let next = 0;
    const opener = async () => {
      while (next < n) {
        next++;
        clients.push(await connect(nacreOptions(cred, s, kex)));
      }
    };
    await Promise.all(Array.from({ length: 32 }, opener));
    await new Promise((done) => setTimeout(done, settleSeconds * 1000));
    const after = await probe(s);
    if (after.node && after.node.connections < n) throw new Error(`${s.name} holds ${after.node.connections} of ${n} connections`);
    const per = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (a - b) / n);
    return {
      connections: n,
      rss: (after.rss - before.rss) / n,
      heapUsed: per(after.node?.heapUsed, before.node?.heapUsed),
      external: per(after.node?.external, before.node?.external),
      arrayBuffers: per(after.node?.arrayBuffers, before.node?.arrayBuffers),
      rssTotal: after.rss,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

const settle = () => new Promise((done) => setTimeout(done, 1000));

async function probe(s: Server): Promise<{ rss: number; node: NodeMemory | null }> {
  // The Node servers collect garbage first (--expose-gc), then RSS is read from /proc.
  const node = s.nodeMemory ? await s.nodeMemory() : null;
  const rss = processRss(s.pid);
  if (rss === null) throw new Error('no /proc/<pid>/status to read RSS from');
  return { rss, node };
}

// ---------------------------------------------------------------- exec and -L through ssh

interface BulkCell {
  /** MiB/s, best round; null when it failed. */
  readonly mibs: number | null;
  /** CPU of the server process and what it reaped (the shell, head or cat) per MiB, lowest round. */
  readonly serverCpuPerMiB: number | null;
}

async function bulkCell(o: OpenSsh, cred: Credentials, s: Server, cipher: string, direction: Direction, bytes: number, overheadMs: number, into: BulkCell | undefined): Promise<BulkCell> {
  const ssh = sshClient(o, cred);
  const cpu0 = processCpuMs(s.pid);
  const start = performance.now();
  await ssh.bulk(s, cipher, direction, bytes);
  const ms = Math.max(1, performance.now() - start - overheadMs);
  await new Promise((done) => setTimeout(done, 200));
  const cpu1 = processCpuMs(s.pid);
  const mibs = bytes / MiB / (ms / 1000);
  const cpu = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / (bytes / MiB) : null;
  return {
    mibs: Math.max(mibs, into?.mibs ?? 0),
    serverCpuPerMiB: cpu === null ? (into?.serverCpuPerMiB ?? null) : Math.min(cpu, into?.serverCpuPerMiB ?? Infinity),
  };
}

/** Median wall ms of `ssh ... true` against `s`: taken off each transfer's time (it is no transfer). */
async function sshTrueMs(o: OpenSsh, cred: Credentials, s: Server, runs: number): Promise<number> {
  const ssh = sshClient(o, cred);
  await ssh.once(s);
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await ssh.once(s);
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}

// ---------------------------------------------------------------- the run

export interface ServerBenchReport {
  readonly options: ServerBenchOptions;
  readonly fdLimit: number;
  readonly servers: readonly string[];
  /** By server name, then concurrency. */
  readonly rate: Record<string, Record<number, RateCell | string>>;
  readonly memory: Record<string, MemoryCell | string>;
  /** By server name, then `${cipher} ${direction}`. */
  readonly bulk: Record<string, Record<string, BulkCell | string>>;
  /** By server name, then direction: MiB/s or why not; `${direction} cpu`: the server's CPU ms per MiB (all rounds). */
  readonly forward: Record<string, Record<string, number | string>>;
  readonly seconds: number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);

export async function benchServer(o: ServerBenchOptions = SERVER_DEFAULTS, log: (s: string) => void = (s) => console.error(s)): Promise<ServerBenchReport> {
  const openssh = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH (ssh, sshd, ssh-keygen) is not installed; scripts/install-test-peers.sh installs it');
  const t0 = performance.now();
  const fdLimit = raiseDescriptorLimit(4 * o.idleConnections + 1024);
  const dir = tempDir('bench-nacred');
  const key = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  const cred: Credentials = { user: userInfo().username, keyPath: key.privatePath, keyText: readFileSync(key.privatePath, 'utf8'), publicLine: key.publicLine };
  // The Node servers' files, as an operator would have them.
  const serverDir = join(dir, 'server');
  mkdirSync(serverDir, { mode: 0o700 });
  const hostLine = keygen(openssh, serverDir, 'ed25519', 'host_ed25519').publicLine;
  writeFileSync(join(serverDir, 'authorized_keys'), key.publicLine + '\n');
  const hostKeyBlob = Buffer.from(parseOpenSshPublicKeyLine(hostLine).blob);

  const stops: (() => Promise<void>)[] = [];
  try {
    const asServer = (p: ServerProcess): Server => {
      stops.push(() => p.stop());
      return { name: p.name, pid: p.pid, port: p.port, hostKeyBlob, knownHosts: writeKnownHosts(dir, `known_hosts_${p.port}`, p.port, hostKeyBlob), ...(p.nodeMemory ? { nodeMemory: p.nodeMemory } : {}) };
    };
    const nacre = asServer(await startNacreServer(serverDir));
    const nacred = asServer(await startNacredBinary(serverDir));
    const ssh2 = asServer(await startSsh2Server(serverDir));
    const sshdProcess = await startBenchSshd(openssh, key.publicLine);
    stops.push(() => sshdProcess.stop());
    const sshd: Server = { ...sshdProcess, name: 'OpenSSH sshd' };
    const all = [nacre, nacred, sshd, ssh2];
    const report: ServerBenchReport = { options: o, fdLimit, servers: all.map((s) => s.name), rate: {}, memory: {}, bulk: {}, forward: {}, seconds: 0 };
    for (const s of all) {
      report.rate[s.name] = {};
      report.bulk[s.name] = {};
      report.forward[s.name] = {};
    }

    // Memory first, on fresh server processes: what a process freed earlier
    // (the rate runs) would be reused and hide part of what connections cost.
    for (const s of o.parts.includes('memory') ? [nacre, nacred, ssh2] : []) {
      log(`nacred bench: memory, ${s.name}, ${o.idleConnections} idle connections`);
      try {
        report.memory[s.name] = await memoryCell(cred, s, o.idleConnections, o.memoryKex, fdLimit, o.memorySettleSeconds);
      } catch (e) {
        report.memory[s.name] = message(e);
      }
    }

    // Warm-up: V8 compiles the Node servers' connection path (and the load generator's).
    if (o.parts.includes('rate')) for (const s of all) await rate(authAndClose(cred), s, { concurrency: 16, rateSeconds: 1 }).catch(() => undefined);
    // Rounds visit every server in turn, so that load drift on the machine hits all of them.
    for (let round = 0; round < (o.parts.includes('rate') ? o.rateRounds : 0); round++) {
      for (const c of o.concurrencies) {
        for (const s of all) {
          log(`nacred bench: rate, ${s.name}, ${c} in flight, round ${round + 1}/${o.rateRounds}`);
          try {
            const cell = await rateCell(cred, s, c, o.rateSeconds);
            const old = report.rate[s.name]![c];
            if (typeof old !== 'object' || cell.perSecond > old.perSecond) report.rate[s.name]![c] = cell;
          } catch (e) {
            report.rate[s.name]![c] ??= message(e);
          }
        }
      }
    }

    const processServers = [nacre, nacred, sshd];
    const overhead = new Map<string, number>();
    if (o.parts.includes('exec')) for (const s of processServers) overhead.set(s.name, await sshTrueMs(openssh, cred, s, 5));
    for (let round = 0; round < (o.parts.includes('exec') ? o.bulkRounds : 0); round++) {
      for (const cipher of o.bulkCiphers) {
        for (const direction of ['download', 'upload'] as const) {
          for (const s of processServers) {
            const cell = `${cipher} ${direction}`;
            log(`nacred bench: exec ${cell}, ${s.name}, round ${round + 1}/${o.bulkRounds}`);
            const old = report.bulk[s.name]![cell];
            try {
              report.bulk[s.name]![cell] = await bulkCell(openssh, cred, s, cipher, direction, o.bulkBytes, overhead.get(s.name) ?? 0, typeof old === 'object' ? old : undefined);
            } catch (e) {
              if (typeof old !== 'object') report.bulk[s.name]![cell] = message(e);
            }
          }
        }
      }
    }

    const ssh: Tool = { name: 'ssh', cmd: openssh.ssh, prefix: [] };
    for (const cipher of o.parts.includes('forward') ? o.forwardCiphers : []) {
      for (const direction of ['download', 'upload'] as const) {
        for (const s of processServers) {
          const cell = `${cipher} ${direction}`;
          log(`nacred bench: ssh -L ${cell}, ${s.name}`);
          try {
            const cpu0 = processCpuMs(s.pid);
            const args = [...commonArgs(cred, s), ...(cipher === 'default' ? [] : ['-c', cipher])];
            report.forward[s.name]![cell] = await forwardThroughput(ssh, args, `${cred.user}@127.0.0.1`, direction, { runs: 0, forwardBytes: o.forwardBytes, forwardRounds: o.forwardRounds });
            await new Promise((done) => setTimeout(done, 200));
            const cpu1 = processCpuMs(s.pid);
            if (cpu0 !== null && cpu1 !== null) report.forward[s.name]![`${cell} cpu`] = (cpu1 - cpu0) / ((o.forwardBytes * o.forwardRounds) / MiB);
          } catch (e) {
            report.forward[s.name]![cell] = message(e);
          }
        }
      }
    }
    return { ...report, seconds: (performance.now() - t0) / 1000 };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const verdict = (ok: boolean) => (ok ? '**PASS**' : '**MISS**');
const num = (x: number | null | undefined, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const kib = (x: number | undefined) => (x === undefined ? '—' : (x / 1024).toFixed(1));

export function formatServer(r: ServerBenchReport): { markdown: string; targets: string[] } {
  const o = r.options;
  const out: string[] = [];
  const targets: string[] = [];
  // Targets are the nacred command's; the library server (same code, its heap
  // visible to the memory probe) is shown next to it.
  const [library, nacre, sshd, ssh2] = r.servers as [string, string, string, string];
  const short = (c: string) => c.replace('@openssh.com', '');

  if (o.parts.includes('rate')) {
    out.push(`### Connection rate: handshake (${RATE_KEX}) + ed25519 publickey authentication + close (best of ${o.rateRounds} rounds of ${o.rateSeconds} s; load generator: the Nacre client library in the bench process)`);
    out.push('');
    out.push(`| server | ${o.concurrencies.map((c) => `conn/s @${c} | server CPU ms/conn @${c} | load generator CPU ms/conn @${c}`).join(' | ')} | failed |`);
    out.push(`|---|${o.concurrencies.map(() => '---:|---:|---:').join('|')}|---:|`);
    for (const s of r.servers) {
      const cells = o.concurrencies.map((c) => r.rate[s]![c]);
      const failed = cells.reduce((a, c) => a + (typeof c === 'object' ? c.failed : 0), 0);
      out.push(`| ${s} | ${cells.map((c) => (typeof c === 'object' ? `${num(c.perSecond, 1)} | ${num(c.serverCpuMs, 2)} | ${num(c.clientCpuMs, 2)}` : `failed: ${c ?? '?'} | — | —`)).join(' | ')} | ${failed} |`);
    }
    // What the servers would do with the machine to themselves: the load
    // generator shares the 2 cores and costs about as much CPU per connection
    // as the Node servers, so conn/s understates them (and barely touches
    // sshd's figure). A derived figure, not a measured rate.
    out.push('');
    out.push('Server-CPU-bound rate (derived, not measured): 1000 / server CPU ms per connection = connections per second one core would serve with nothing else on it.');
    out.push('');
    out.push(`| server | ${o.concurrencies.map((c) => `CPU-bound conn/s per core @${c}`).join(' | ')} |`);
    out.push(`|---|${o.concurrencies.map(() => '---:').join('|')}|`);
    const cpuBound = (s: string, c: number): number | null => {
      const x = r.rate[s]![c];
      return typeof x === 'object' && Number.isFinite(x.serverCpuMs) && x.serverCpuMs > 0 ? 1000 / x.serverCpuMs : null;
    };
    for (const s of r.servers) out.push(`| ${s} | ${o.concurrencies.map((c) => num(cpuBound(s, c), 0)).join(' | ')} |`);
    for (const c of o.concurrencies) {
      const n = r.rate[nacre]![c];
      const mine = cpuBound(nacre, c);
      for (const ref of [ssh2, sshd]) {
        const theirs = cpuBound(ref, c);
        if (mine !== null && theirs !== null) targets.push(`(context, not a target row) nacred server-CPU-bound rate @${c} vs ${ref}: ${mine.toFixed(0)} vs ${theirs.toFixed(0)} conn/s per core (${(mine / theirs).toFixed(2)}x)`);
      }
      for (const [ref, factor] of [[ssh2, 3], [sshd, 20]] as const) {
        const x = r.rate[ref]![c];
        if (typeof n === 'object' && typeof x === 'object') {
          targets.push(`nacred connection rate @${c} >= ${factor}x ${ref}: ${n.perSecond.toFixed(1)} vs ${x.perSecond.toFixed(1)} conn/s (${(n.perSecond / x.perSecond).toFixed(2)}x) ${verdict(n.perSecond >= factor * x.perSecond)}`);
        } else targets.push(`nacred connection rate @${c} >= ${factor}x ${ref}: **NOT MEASURED**`);
      }
    }
  }
  if (o.parts.includes('memory')) {
    out.push('');
    const settled = o.memorySettleSeconds === 1 ? '' : `, probed ${o.memorySettleSeconds} s after the last one opened`;
    out.push(`### Memory per idle authenticated connection (${o.idleConnections} connections held open; server process after a full GC, minus the same process before them${settled})`);
    out.push('');
    out.push('| server | RSS KiB/conn | heapUsed KiB/conn | external KiB/conn | of which arrayBuffers KiB/conn | server RSS with them, MiB |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const [s, m] of Object.entries(r.memory)) {
      if (typeof m === 'string') out.push(`| ${s} | failed: ${m} | | | | |`);
      else out.push(`| ${s} | ${kib(m.rss)} | ${kib(m.heapUsed)} | ${kib(m.external)} | ${kib(m.arrayBuffers)} | ${num(m.rssTotal / MiB, 0)} |`);
    }
    const m = r.memory[nacre];
    targets.push(typeof m === 'object' ? `nacred memory per idle authenticated connection < 64 KiB RSS: ${kib(m.rss)} KiB ${verdict(m.rss < 64 * 1024)}` : 'nacred memory per idle connection: **NOT MEASURED**');
  }
  if (o.parts.includes('exec')) {
    out.push('');
    out.push(`### Exec through the server's process path, OpenSSH \`ssh\` as the client of both (${o.bulkBytes / MiB} MiB, best of ${o.bulkRounds}; MiB/s, and the server's CPU per MiB including the programs it started)`);
    out.push('');
    const cells = o.bulkCiphers.flatMap((c) => ['download', 'upload'].map((d) => `${c} ${d}`));
    out.push(`| server | ${cells.map((c) => `${short(c)} MiB/s | CPU ms/MiB`).join(' | ')} |`);
    out.push(`|---|${cells.map(() => '---:|---:').join('|')}|`);
    for (const s of [library, nacre, sshd]) {
      out.push(`| ${s} | ${cells.map((c) => {
        const x = r.bulk[s]![c];
        return typeof x === 'object' ? `${num(x.mibs)} | ${num(x.serverCpuPerMiB, 2)}` : `failed: ${x ?? '?'} | —`;
      }).join(' | ')} |`);
    }
    for (const c of cells) {
      const a = r.bulk[nacre]![c];
      const b = r.bulk[sshd]![c];
      if (typeof a === 'object' && typeof b === 'object' && a.mibs !== null && b.mibs !== null) {
        targets.push(`nacred exec ${short(c)} >= 80% of sshd (ssh client): ${a.mibs.toFixed(0)} vs ${b.mibs.toFixed(0)} MiB/s (${((a.mibs / b.mibs) * 100).toFixed(0)}%) ${verdict(a.mibs >= 0.8 * b.mibs)}`);
      } else targets.push(`nacred exec ${short(c)} >= 80% of sshd: **NOT MEASURED**`);
    }
  }
  if (o.parts.includes('forward')) {
    out.push('');
    out.push(`### Through \`ssh -L\` (${o.forwardBytes / MiB} MiB, best of ${o.forwardRounds}; the far end is a TCP sink or source in the bench process; "default": ssh's own cipher choice, chacha20-poly1305@openssh.com; CPU: the server process over all rounds)`);
    out.push('');
    const fcells = o.forwardCiphers.flatMap((c) => ['download', 'upload'].map((d) => `${c} ${d}`));
    out.push(`| server | ${fcells.map((c) => `${short(c)} MiB/s | CPU ms/MiB`).join(' | ')} |`);
    out.push(`|---|${fcells.map(() => '---:|---:').join('|')}|`);
    const fwd = (x: number | string | undefined, digits = 0) => (typeof x === 'number' ? x.toFixed(digits) : x === undefined ? '—' : `failed: ${x}`);
    for (const s of [library, nacre, sshd]) out.push(`| ${s} | ${fcells.map((c) => `${fwd(r.forward[s]![c])} | ${fwd(r.forward[s]![`${c} cpu`], 2)}`).join(' | ')} |`);
    for (const c of fcells) {
      const a = r.forward[nacre]![c];
      const b = r.forward[sshd]![c];
      if (typeof a === 'number' && typeof b === 'number') targets.push(`nacred -L ${short(c)} >= sshd's: ${a.toFixed(0)} vs ${b.toFixed(0)} MiB/s (${((a / b) * 100).toFixed(0)}%) ${verdict(a >= b)}`);
      else targets.push(`nacred -L ${short(c)} >= sshd's: **NOT MEASURED**`);
    }
  }
  out.push('');
  out.push(`(descriptor limit ${r.fdLimit}; nacred section took ${r.seconds.toFixed(0)} s)`);
  return { markdown: out.join('\n'), targets };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // --quick: smaller numbers; --parts=rate,memory,exec,forward: some of them; --memory-kex=NAME;
  // --memory-settle=SECONDS (default 1).
  const base = process.argv.includes('--quick') ? SERVER_QUICK : SERVER_DEFAULTS;
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const parts = arg('parts')?.split(',') ?? base.parts;
  const settleArg = Number(arg('memory-settle') ?? base.memorySettleSeconds);
  if (!Number.isFinite(settleArg) || settleArg < 0) throw new Error('--memory-settle takes a number of seconds');
  for (const p of parts) if (!(SERVER_PARTS as readonly string[]).includes(p)) throw new Error(`unknown part ${p}; parts: ${SERVER_PARTS.join(', ')}`);
  const { markdown, targets } = formatServer(await benchServer({ ...base, parts: parts as ServerPart[], memoryKex: arg('memory-kex') ?? base.memoryKex, memorySettleSeconds: settleArg }));
  console.log(markdown);
  console.log('\nTargets:\n' + targets.map((t) => `- ${t}`).join('\n'));
}
