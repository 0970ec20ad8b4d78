// Whole connections, Nacre next to OpenSSH and the `ssh2` npm package, in one
// run: sequential connect+auth+`exec true`+close latency, connection rate
// with 16 in flight, and bulk throughput through one channel per cipher.
//
// Run: node dist/bench/connection.js [--quick]   (or npm run bench -- --only=connection)
//
// How (see docs/PERFORMANCE.md, section 4):
//  - Library clients (Nacre, ssh2) run in this process; `ssh` is a child
//    process per connection, so its figures include process start.
//  - The Nacre server is a child process (bench/connection-server.ts), in two
//    variants: commands run by runAsCurrentUser (the shell spawned like sshd
//    does) or answered in-process (no program at all).
//  - sshd is a private instance on loopback (bench/connection-peers.ts).
//  - Pairings run one after another, never two at once.
import { readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, keygen, tempDir, type OpenSsh } from '../test/interop/openssh.js';
import { startNacreServer, type NacreServerChild } from './connection-server.js';
import { affinityOf, pin, pinningUnavailable } from './affinity.js';
import {
  nacreClient,
  ssh2Client,
  ssh2Native,
  sshClient,
  bannerMs,
  startBenchSshd,
  writeKnownHosts,
  type ClientDriver,
  type Credentials,
  type Direction,
  type Negotiated,
  type Target,
} from './connection-peers.js';

export const BULK_CIPHERS = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] as const;
/** The pairings the bulk targets compare, measured again with client and server on separate cores. */
const SEPARATE_CORE_PAIRINGS = ['Nacre client / OpenSSH sshd', 'OpenSSH ssh / Nacre server', 'ssh2 client / OpenSSH sshd', 'OpenSSH ssh / OpenSSH sshd'];
const DIRECTIONS: readonly Direction[] = ['upload', 'download'];
const MiB = 1024 * 1024;

export interface ConnectionBenchOptions {
  readonly latencyRuns: number;
  readonly warmup: number;
  readonly rateSeconds: number;
  readonly concurrency: number;
  readonly bulkBytes: number;
  /** Bulk transfers per cell; the best is kept. */
  readonly bulkRounds: number;
}

export const DEFAULT_OPTIONS: ConnectionBenchOptions = { latencyRuns: 30, warmup: 3, rateSeconds: 5, concurrency: 16, bulkBytes: 256 * MiB, bulkRounds: 3 };
export const QUICK_OPTIONS: ConnectionBenchOptions = { latencyRuns: 8, warmup: 2, rateSeconds: 2, concurrency: 16, bulkBytes: 64 * MiB, bulkRounds: 1 };

export interface PairingResult {
  readonly label: string;
  readonly client: string;
  readonly server: string;
  readonly negotiated: Negotiated;
  /** `cpuMs`: machine CPU per sequential connection (mean), NaN without /proc/stat. */
  readonly latency: { readonly median: number; readonly p90: number; readonly runs: number; readonly cpuMs: number };
  /** Median ms from TCP connect to the server's identification line (raw socket, no SSH client). */
  readonly bannerMs: number;
  readonly rate: { readonly perSecond: number; readonly completed: number; readonly failed: number; readonly seconds: number };
  /** MiB/s by `${cipher} ${direction}`; null when the transfer failed. */
  readonly bulk: Record<string, number | null>;
  /**
   * CPU ms per MiB of the whole machine (every process: client, server, the
   * program at the far end) by cell, lowest of the rounds; absent without
   * /proc/stat. Unlike MiB/s this does not move with how the 2 cores are shared.
   */
  readonly bulkCpu: Record<string, number>;
  /** MiB/s by cell with the client on CPU 1 and the server (and its programs) on CPU 0; empty when not run. */
  readonly bulkSeparate: Record<string, number | null>;
  readonly errors: string[];
}

export interface ConnectionReport {
  readonly options: ConnectionBenchOptions;
  /** Why the separate-cores block did not run, or null when it did. */
  readonly separateSkipped: string | null;
  readonly sshVersion: string;
  readonly ssh2: ReturnType<typeof ssh2Native>;
  readonly pairings: readonly PairingResult[];
  readonly seconds: number;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Busy CPU time of the whole machine so far, in ms (Linux /proc/stat: every
 * core's user, nice, system, irq and softirq time; idle, iowait and steal are
 * not ours). Null elsewhere.
 */
export function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    if ([user, nice, system, irq, softirq].some((x) => x === undefined || !Number.isFinite(x))) return null;
    const hz = 100; // USER_HZ, 100 on every Linux architecture Node supports
    return ((user! + nice! + system! + irq! + softirq!) * 1000) / hz;
  } catch {
    return null;
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);

async function latency(d: ClientDriver, t: Target, o: ConnectionBenchOptions): Promise<PairingResult['latency']> {
  for (let i = 0; i < o.warmup; i++) await d.once(t);
  const xs: number[] = [];
  const busy0 = machineBusyMs();
  for (let i = 0; i < o.latencyRuns; i++) {
    const start = performance.now();
    await d.once(t);
    xs.push(performance.now() - start);
  }
  const busy1 = machineBusyMs();
  const cpuMs = busy0 !== null && busy1 !== null ? (busy1 - busy0) / xs.length : NaN;
  return { median: median(xs), p90: percentile(xs, 0.9), runs: xs.length, cpuMs };
}

/** `concurrency` loops, each starting a new connection as soon as its previous one is done, until the time is up. */
export async function rate(d: ClientDriver, t: Target, o: Pick<ConnectionBenchOptions, 'rateSeconds' | 'concurrency'>): Promise<PairingResult['rate']> {
  const start = performance.now();
  const deadline = start + o.rateSeconds * 1000;
  let completed = 0;
  let failed = 0;
  let last = start;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await d.once(t);
        completed++;
      } catch {
        failed++;
      }
      last = performance.now();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (last - start) / 1000;
  return { perSecond: completed / seconds, completed, failed, seconds };
}

interface Pairing {
  readonly label: string;
  readonly driver: ClientDriver;
  readonly server: string;
  readonly target: Target;
  /** False: latency and rate only. */
  readonly bulk?: boolean;
}

export async function benchConnection(o: ConnectionBenchOptions = DEFAULT_OPTIONS, log: (s: string) => void = (s) => console.error(s)): Promise<ConnectionReport> {
  const openssh: OpenSsh | null = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH (ssh, sshd, ssh-keygen) is not installed; scripts/install-test-peers.sh installs it');
  const t0 = performance.now();
  const dir = tempDir('bench-conn');
  const key = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  const cred: Credentials = { user: userInfo().username, keyPath: key.privatePath, keyText: readFileSync(key.privatePath, 'utf8'), publicLine: key.publicLine };
  const sshd = await startBenchSshd(openssh, key.publicLine);
  const children: NacreServerChild[] = [];
  try {
    const nacreTarget = async (mode: 'process' | 'inproc'): Promise<Target & { readonly pid: number }> => {
      const c = await startNacreServer(mode, key.publicLine);
      children.push(c);
      return { port: c.port, pid: c.pid, hostKeyBlob: c.hostKeyBlob, knownHosts: writeKnownHosts(dir, `known_hosts_${mode}`, c.port, c.hostKeyBlob) };
    };
    const nacreProcess = await nacreTarget('process');
    const nacreInproc = await nacreTarget('inproc');
    const nacre = nacreClient(cred);
    const ssh = sshClient(openssh, cred);
    const ssh2 = ssh2Client(cred);
    const ssh2NoDelay = ssh2Client(cred, true);
    const pairings: Pairing[] = [
      { label: 'Nacre client / OpenSSH sshd', driver: nacre, server: 'OpenSSH sshd', target: sshd },
      { label: 'Nacre client, curve25519-sha256 / OpenSSH sshd', driver: nacreClient(cred, 'curve25519-sha256'), server: 'OpenSSH sshd', target: sshd, bulk: false },
      { label: 'OpenSSH ssh / Nacre server', driver: ssh, server: 'Nacre (runAsCurrentUser)', target: nacreProcess },
      { label: 'OpenSSH ssh / Nacre server, in-process', driver: ssh, server: 'Nacre (in-process handler)', target: nacreInproc },
      { label: 'Nacre / Nacre', driver: nacre, server: 'Nacre (runAsCurrentUser)', target: nacreProcess },
      { label: 'Nacre / Nacre, in-process', driver: nacre, server: 'Nacre (in-process handler)', target: nacreInproc },
      { label: 'Nacre client, curve25519-sha256 / Nacre server, in-process', driver: nacreClient(cred, 'curve25519-sha256'), server: 'Nacre (in-process handler)', target: nacreInproc, bulk: false },
      { label: 'ssh2 client / OpenSSH sshd', driver: ssh2, server: 'OpenSSH sshd', target: sshd },
      { label: 'ssh2 client (setNoDelay) / OpenSSH sshd', driver: ssh2NoDelay, server: 'OpenSSH sshd', target: sshd },
      // The latency target compares clients against the same server; sshd's own
      // per-connection cost dominates there, so the pair is also measured
      // against a server without it.
      { label: 'ssh2 client / Nacre server, in-process', driver: ssh2, server: 'Nacre (in-process handler)', target: nacreInproc, bulk: false },
      { label: 'ssh2 client (setNoDelay) / Nacre server, in-process', driver: ssh2NoDelay, server: 'Nacre (in-process handler)', target: nacreInproc, bulk: false },
      { label: 'OpenSSH ssh / OpenSSH sshd', driver: ssh, server: 'OpenSSH sshd', target: sshd },
    ];
    const results = pairings.map((p) => ({
      label: p.label,
      client: p.driver.name,
      server: p.server,
      negotiated: { kex: '?', hostKey: '?', cipher: '?' } as Negotiated,
      latency: { median: NaN, p90: NaN, runs: 0, cpuMs: NaN },
      bannerMs: NaN,
      rate: { perSecond: NaN, completed: 0, failed: 0, seconds: 0 },
      bulk: {} as Record<string, number | null>,
      bulkCpu: {} as Record<string, number>,
      bulkSeparate: {} as Record<string, number | null>,
      errors: [] as string[],
    }));
    const each = async (phase: string, fn: (p: Pairing, r: (typeof results)[number]) => Promise<void>) => {
      for (const [i, p] of pairings.entries()) {
        const r = results[i]!;
        log(`connection bench: ${phase}: ${p.label}`);
        try {
          await fn(p, r);
        } catch (e) {
          r.errors.push(`${phase}: ${message(e)}`);
          log(`  FAILED: ${message(e)}`);
        }
      }
    };
    // Phases rather than pairings in the outer loop, so that a change in the
    // machine's load during the run spreads over every pairing.
    await each('negotiated algorithms', async (p, r) => {
      r.negotiated = await p.driver.probe(p.target);
    });
    await each('server identification line', async (p, r) => {
      const xs: number[] = [];
      for (let i = 0; i < 12; i++) xs.push(await bannerMs(p.target.port));
      r.bannerMs = median(xs.slice(2));
    });
    await each('sequential latency', async (p, r) => {
      r.latency = await latency(p.driver, p.target, o);
    });
    await each(`rate at concurrency ${o.concurrency}`, async (p, r) => {
      r.rate = await rate(p.driver, p.target, o);
    });
    // Bulk: a short warm-up transfer each way first (V8 compiles the data path,
    // the kernel grows the socket buffers), then rounds that visit every
    // pairing in turn; each cell keeps its best round.
    await each('bulk warm-up', async (p) => {
      if (p.bulk === false) return;
      for (const direction of DIRECTIONS) await p.driver.bulk(p.target, BULK_CIPHERS[0], direction, Math.max(MiB, o.bulkBytes / 8));
    });
    /** Every cipher and direction once for pairing `p`; `into` keeps each cell's best MiB/s. */
    const bulkCells = async (p: Pairing, r: (typeof results)[number], into: Record<string, number | null>, cpu: boolean) => {
      // A connection's own setup and teardown is not transfer time: take the
      // pairing's median `exec true` connection off each transfer's wall time.
      const overhead = Number.isFinite(r.latency.median) ? r.latency.median : 0;
      for (const cipher of BULK_CIPHERS) {
        for (const direction of DIRECTIONS) {
          const cell = `${cipher} ${direction}`;
          try {
            const start = performance.now();
            const busy0 = machineBusyMs();
            await p.driver.bulk(p.target, cipher, direction, o.bulkBytes);
            const busy1 = machineBusyMs();
            const ms = Math.max(1, performance.now() - start - overhead);
            into[cell] = Math.max(into[cell] ?? 0, o.bulkBytes / MiB / (ms / 1000));
            if (cpu && busy0 !== null && busy1 !== null) {
              // Like the wall time, without the connection's own setup and teardown.
              const setup = Number.isFinite(r.latency.cpuMs) ? r.latency.cpuMs : 0;
              const perMiB = Math.max(0, busy1 - busy0 - setup) / (o.bulkBytes / MiB);
              r.bulkCpu[cell] = Math.min(r.bulkCpu[cell] ?? Infinity, perMiB);
            }
          } catch (e) {
            r.errors.push(`bulk ${cell}: ${message(e)}`);
            log(`  FAILED: ${cell}: ${message(e)}`);
            into[cell] ??= null;
          }
        }
      }
    };
    for (let round = 0; round < o.bulkRounds; round++) {
      await each(`bulk round ${round + 1}/${o.bulkRounds}`, async (p, r) => {
        if (p.bulk !== false) await bulkCells(p, r, r.bulk, true);
      });
    }
    // The same transfers for the target pairings with the client on CPU 1 and
    // the server, with every process it starts, on CPU 0: each side's own
    // speed, without the other taking its CPU.
    const separateSkipped = pinningUnavailable();
    if (separateSkipped) log(`connection bench: separate-core bulk skipped: ${separateSkipped}`);
    else {
      const serverPids = [sshd.pid, nacreProcess.pid];
      const before = [process.pid, ...serverPids].map((pid) => [pid, affinityOf(pid)] as const);
      const separate = new Set(SEPARATE_CORE_PAIRINGS);
      try {
        pin(process.pid, '1');
        for (const pid of serverPids) pin(pid, '0');
        for (let round = 0; round < o.bulkRounds; round++) {
          await each(`bulk on separate cores, round ${round + 1}/${o.bulkRounds}`, async (p, r) => {
            if (separate.has(p.label)) await bulkCells(p, r, r.bulkSeparate, false);
          });
        }
      } finally {
        for (const [pid, cpuList] of before) {
          try {
            pin(pid, cpuList);
          } catch {
            // the process is gone
          }
        }
      }
    }
    return { options: o, separateSkipped, sshVersion: openssh.version, ssh2: ssh2Native(), pairings: results, seconds: (performance.now() - t0) / 1000 };
  } finally {
    for (const c of children) await c.stop();
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const verdict = (ok: boolean) => (ok ? '**PASS**' : '**MISS**');
const f = (x: number | null | undefined, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

/** The report as markdown, and the target lines for the summary. */
export function formatConnection(r: ConnectionReport): { markdown: string; targets: string[] } {
  const o = r.options;
  const out: string[] = [];
  out.push(`OpenSSH: ${r.sshVersion}. ssh2 ${r.ssh2.version}: native crypto binding ${r.ssh2.crypto ? 'loaded' : 'NOT loaded (pure JS)'}, cpu-features ${r.ssh2.cpuFeatures ? 'loaded' : 'NOT loaded'}.`);
  out.push('');
  out.push(`### Connection latency and rate (ed25519 publickey, \`exec true\`; ${o.latencyRuns} sequential runs after ${o.warmup} warm-up; rate: ${o.concurrency} in flight for ${o.rateSeconds} s)`);
  out.push('');
  out.push('| pairing | server | kex | host key | median ms | p90 ms | CPU ms/conn | conn/s @' + o.concurrency + ' | failed | server ident. line ms |');
  out.push('|---|---|---|---|---:|---:|---:|---:|---:|---:|');
  for (const p of r.pairings) {
    out.push(`| ${p.label} | ${p.server} | ${p.negotiated.kex} | ${p.negotiated.hostKey} | ${f(p.latency.median, 1)} | ${f(p.latency.p90, 1)} | ${f(p.latency.cpuMs, 1)} | ${f(p.rate.perSecond, 1)} | ${p.rate.failed} | ${f(p.bannerMs, 1)} |`);
  }
  out.push('');
  out.push('"CPU ms/conn": CPU time of the whole machine (client, server and everything they start) per sequential connection, mean of the latency runs. "server ident. line ms": median wall time from TCP connect to the server\'s identification line, with a bare socket (no client work at all).');
  out.push('');
  out.push(`### Bulk throughput, one channel, ${o.bulkBytes / MiB} MiB, MiB/s (best of ${o.bulkRounds} rounds; time = the whole connection's wall time minus the pairing's median \`exec true\` connection; upload = client → \`cat > /dev/null\`, download = \`head -c N /dev/zero\` → client)`);
  out.push('');
  const cols = BULK_CIPHERS.flatMap((c) => DIRECTIONS.map((d) => `${c} ${d}`));
  out.push(`| pairing | ${cols.map((c) => c.replace('@openssh.com', '')).join(' | ')} |`);
  out.push(`|---|${cols.map(() => '---:').join('|')}|`);
  for (const p of r.pairings) if (Object.keys(p.bulk).length > 0) out.push(`| ${p.label} | ${cols.map((c) => f(p.bulk[c])).join(' | ')} |`);
  if (r.pairings.some((p) => Object.keys(p.bulkCpu).length > 0)) {
    out.push('');
    out.push("#### CPU cost of the same transfers: ms of CPU per MiB, whole machine (client + server + `cat`/`head`; lowest of the rounds; the pairing's mean CPU per `exec true` connection taken off)");
    out.push('');
    out.push(`| pairing | ${cols.map((c) => c.replace('@openssh.com', '')).join(' | ')} |`);
    out.push(`|---|${cols.map(() => '---:').join('|')}|`);
    for (const p of r.pairings) if (Object.keys(p.bulkCpu).length > 0) out.push(`| ${p.label} | ${cols.map((c) => f(p.bulkCpu[c], 2)).join(' | ')} |`);
  }

  out.push('');
  if (r.separateSkipped) {
    out.push(`Bulk on separate cores: not run (${r.separateSkipped}).`);
  } else {
    out.push(`#### Bulk on separate cores: client on CPU 1, server and the programs it starts on CPU 0, MiB/s (best of ${o.bulkRounds} rounds)`);
    out.push('');
    out.push(`| pairing | ${cols.map((c) => c.replace('@openssh.com', '')).join(' | ')} |`);
    out.push(`|---|${cols.map(() => '---:').join('|')}|`);
    for (const p of r.pairings) if (Object.keys(p.bulkSeparate).length > 0) out.push(`| ${p.label} | ${cols.map((c) => f(p.bulkSeparate[c])).join(' | ')} |`);
  }

  const targets: string[] = [];
  const get = (label: string) => r.pairings.find((p) => p.label === label);
  const ref = get('OpenSSH ssh / OpenSSH sshd');
  const bulkTarget = (label: string, role: string) => {
    const p = get(label);
    for (const c of cols) {
      const a = p?.bulk[c];
      const b = ref?.bulk[c];
      if (a === null || a === undefined || b === null || b === undefined) targets.push(`${role} bulk ${c} >= ssh/sshd: **NOT MEASURED**`);
      else targets.push(`${role} bulk ${c} >= ssh/sshd: ${a.toFixed(0)} vs ${b.toFixed(0)} MiB/s (${((a / b) * 100).toFixed(0)}%) ${verdict(a >= b)}`);
    }
  };
  bulkTarget('Nacre client / OpenSSH sshd', 'Nacre client (vs sshd)');
  bulkTarget('OpenSSH ssh / Nacre server', 'Nacre server, runAsCurrentUser (vs ssh)');
  if (!r.separateSkipped) {
    // Context for the lines above, not the targets themselves: the same
    // comparison when neither side can take CPU from the other.
    for (const [label, role] of [
      ['Nacre client / OpenSSH sshd', 'separate cores: Nacre client (vs sshd)'],
      ['OpenSSH ssh / Nacre server', 'separate cores: Nacre server, runAsCurrentUser (vs ssh)'],
    ] as const) {
      for (const c of cols) {
        const a = get(label)?.bulkSeparate[c];
        const b = ref?.bulkSeparate[c];
        if (a === null || a === undefined || b === null || b === undefined) targets.push(`(context) ${role} bulk ${c}: NOT MEASURED`);
        else targets.push(`(context) ${role} bulk ${c} vs ssh/sshd: ${a.toFixed(0)} vs ${b.toFixed(0)} MiB/s (${((a / b) * 100).toFixed(0)}%)`);
      }
    }
  }
  const n = get('Nacre client / OpenSSH sshd')?.latency.median;
  const s = get('ssh2 client / OpenSSH sshd')?.latency.median;
  if (n !== undefined && s !== undefined && Number.isFinite(n) && Number.isFinite(s)) {
    targets.push(`sequential connection latency against sshd, Nacre <= 50% of ssh2: ${n.toFixed(1)} vs ${s.toFixed(1)} ms (${((n / s) * 100).toFixed(0)}%) ${verdict(n <= s / 2)}`);
  } else targets.push('sequential connection latency, Nacre <= 50% of ssh2: **NOT MEASURED**');
  const ni = get('Nacre / Nacre, in-process')?.latency.median;
  const si = get('ssh2 client / Nacre server, in-process')?.latency.median;
  if (ni !== undefined && si !== undefined && Number.isFinite(ni) && Number.isFinite(si)) {
    // Context, not the target: against a server without sshd's per-connection
    // floor both libraries are near the protocol's own round trips.
    targets.push(`(context) sequential connection latency against the Nacre server (in-process), Nacre vs ssh2: ${ni.toFixed(1)} vs ${si.toFixed(1)} ms (${((ni / si) * 100).toFixed(0)}%)`);
  }

  const errors = r.pairings.flatMap((p) => p.errors.map((e) => `${p.label}: ${e}`));
  if (errors.length) {
    out.push('');
    out.push('Errors:');
    for (const e of errors) out.push(`- ${e}`);
  }
  out.push('');
  out.push(`(connection section took ${r.seconds.toFixed(0)} s)`);
  return { markdown: out.join('\n'), targets };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await benchConnection(process.argv.includes('--quick') ? QUICK_OPTIONS : DEFAULT_OPTIONS);
  const { markdown, targets } = formatConnection(report);
  console.log(markdown);
  console.log('\nTargets:\n' + targets.map((t) => `- ${t}`).join('\n'));
}
