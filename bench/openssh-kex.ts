// sntrup761x25519-sha512 on the client side: Nacre against OpenSSH's `ssh`,
// both talking to the same Nacre server, in the same run.
//
// Why it is measured this way (see docs/PERFORMANCE.md):
//  - `ssh` can only be measured as a whole process, so its startup, config
//    parsing, host key check and so on are in every figure. Running it once
//    with the post-quantum method and once with curve25519-sha256 and taking
//    the difference of the medians leaves what the method itself costs. The
//    Nacre client is measured the same way, so both marginal costs compare.
//  - The server runs in its own process so that its CPU never lands in the
//    Nacre client's process.cpuUsage(); it is the same server, with the same
//    ed25519 host key, for every client, and it reports when each connection
//    reached "keys exchanged" (wall clock from accept).
//  - `ssh`'s CPU comes from bash's `times` (getrusage of reaped children, in
//    milliseconds), which counts user+system time of the ssh process only.
//
// Run: node dist/bench/openssh-kex.js            (full comparison)
//      node dist/bench/openssh-kex.js --server   (internal: the Nacre server)
//      node dist/bench/openssh-kex.js --client PORT METHOD (internal: one cold client)
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultAlgorithmLists } from '../src/algorithms/index.js';
import { DisconnectReason } from '../src/errors.js';
import { TransportDriver } from '../src/io/node/transport-driver.js';
import { generateHostKey } from '../src/keys/index.js';

export const PQ_METHOD = 'sntrup761x25519-sha512';
export const BASELINE_METHOD = 'curve25519-sha256';
const METHODS = [PQ_METHOD, BASELINE_METHOD] as const;
const SELF = fileURLToPath(import.meta.url);

type ServerReport = { readonly type: 'kex'; readonly kex: string; readonly wallMs: number } | { readonly type: 'failed'; readonly why: string };

export interface MethodStats {
  readonly runs: number;
  /** Median client CPU ms: the ssh process, or the Nacre client from connect to keys exchanged. */
  readonly cpuMs: number;
  /** Median whole-process CPU ms (cold Nacre child only: node startup and module loading included). */
  readonly processCpuMs?: number;
  /** Median wall ms from the server's accept to its "keys exchanged". */
  readonly serverWallMs: number;
}

export interface ClientResult {
  readonly client: string;
  /** What `cpuMs` covers. */
  readonly covers: string;
  readonly byMethod: Readonly<Record<(typeof METHODS)[number], MethodStats>>;
}

export interface OpenSshKexResult {
  readonly sshVersion: string;
  readonly clients: readonly ClientResult[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function findSsh(): { path: string; version: string } | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, 'ssh');
    if (dir && existsSync(p)) {
      const version = spawnSync(p, ['-V'], { encoding: 'utf8' }).stderr.trim();
      return { path: p, version };
    }
  }
  return null;
}

// ---------------------------------------------------------------- server process

function serve(): void {
  const hostKey = generateHostKey('ssh-ed25519');
  const algorithms = defaultAlgorithmLists({ kex: [...METHODS], hostKey: ['ssh-ed25519'] });
  const report = (r: ServerReport) => process.send?.(r);
  const server = createServer((socket) => {
    const accepted = performance.now();
    socket.setNoDelay(true);
    let done = false;
    new TransportDriver(socket, { role: 'server', algorithms, hostKeys: [hostKey] }, (e, d) => {
      if (e.type === 'keys-exchanged' && e.initial) {
        done = true;
        report({ type: 'kex', kex: e.algorithms.kex, wallMs: performance.now() - accepted });
      } else if (e.type === 'service-request') {
        // No user authentication here: ending the connection makes `ssh` exit at once.
        d.transport.disconnect(Date.now(), DisconnectReason.BY_APPLICATION, 'benchmark: key exchange done');
      } else if (e.type === 'disconnected' && !done) {
        done = true;
        report({ type: 'failed', why: e.error.message });
      }
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'ready', port: (server.address() as { port: number }).port });
  });
  process.on('disconnect', () => process.exit(0));
}

class ServerChild {
  private readonly queue: ServerReport[] = [];
  private waiter: ((r: ServerReport) => void) | null = null;

  private constructor(private readonly child: ChildProcess, readonly port: number) {
    child.on('message', (m: ServerReport | { type: 'ready' }) => {
      if (m.type === 'ready') return;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(m);
      } else this.queue.push(m);
    });
  }

  static start(): Promise<ServerChild> {
    return new Promise((resolve, reject) => {
      const child = fork(SELF, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
      child.once('message', (m: { type: string; port?: number }) => {
        if (m.type === 'ready' && m.port) resolve(new ServerChild(child, m.port));
      });
    });
  }

  /** The server's report on the next connection; checks it used `kex`. */
  next(kex: string, timeoutMs = 20000): Promise<number> {
    const check = (r: ServerReport): number => {
      if (r.type === 'failed') throw new Error(`server: connection failed: ${r.why}`);
      if (r.kex !== kex) throw new Error(`server: expected ${kex}, negotiated ${r.kex}`);
      return r.wallMs;
    };
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued).then(check);
    return new Promise<ServerReport>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('server: no report')), timeoutMs);
      this.waiter = (r) => {
        clearTimeout(t);
        resolve(r);
      };
    }).then(check);
  }

  stop(): void {
    this.child.removeAllListeners('exit');
    this.child.disconnect();
  }
}

// ---------------------------------------------------------------- clients

/** One Nacre client connection; CPU and wall time from just before connect to keys exchanged. */
export function nacreClientOnce(port: number, kex: string): Promise<{ cpuMs: number; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const algorithms = defaultAlgorithmLists({ kex: [kex], hostKey: ['ssh-ed25519'] });
    let result: { cpuMs: number; wallMs: number } | undefined;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    new TransportDriver(socket, { role: 'client', algorithms }, (e, d) => {
      switch (e.type) {
        case 'host-key':
          // Accepted unseen, as `ssh -o StrictHostKeyChecking=no` does with an empty known_hosts.
          d.transport.answerHostKey(Date.now(), true);
          break;
        case 'keys-exchanged':
          if (e.initial && !result) {
            const c = process.cpuUsage(cpu0);
            result = { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0 };
            d.transport.requestService(Date.now(), 'ssh-userauth');
          }
          break;
        case 'disconnected':
          if (result) resolve(result);
          else reject(e.error);
          break;
      }
    });
  });
}

/** `times` prints the shell's own and its reaped children's user/system time. */
function childrenCpuMs(out: string): number {
  const lines = out.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`cannot parse bash times output: ${out}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

function runWithTimes(argv: readonly string[], quiet: boolean, timeoutMs = 20000): Promise<string> {
  const script = quiet ? '"$@" >/dev/null 2>&1; times' : '"$@"; times';
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also ends the ssh or node under bash.
    const child = spawn('bash', ['-c', script, 'bash', ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LC_ALL: 'C' }, detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`bash exited with ${code}: ${out}`));
      else resolve(out);
    });
  });
}

function sshArgs(ssh: string, port: number, kex: string): string[] {
  return [
    ssh, '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', `KexAlgorithms=${kex}`, '-p', String(port), 'x@127.0.0.1', 'true',
  ];
}

interface Sample {
  cpuMs: number;
  processCpuMs?: number;
  serverWallMs: number;
}

function stats(samples: readonly Sample[]): MethodStats {
  const proc = samples.map((s) => s.processCpuMs).filter((x): x is number => x !== undefined);
  return {
    runs: samples.length,
    cpuMs: median(samples.map((s) => s.cpuMs)),
    ...(proc.length ? { processCpuMs: median(proc) } : {}),
    serverWallMs: median(samples.map((s) => s.serverWallMs)),
  };
}

/** Runs `once` for both methods, interleaved so that drift in machine load hits both alike. */
async function interleaved(runs: number, warmup: number, once: (kex: string) => Promise<Sample>): Promise<ClientResult['byMethod']> {
  for (let i = 0; i < warmup; i++) for (const m of METHODS) await once(m);
  const samples: Record<string, Sample[]> = { [PQ_METHOD]: [], [BASELINE_METHOD]: [] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [...METHODS].reverse() : METHODS;
    for (const m of order) samples[m]!.push(await once(m));
  }
  return { [PQ_METHOD]: stats(samples[PQ_METHOD]!), [BASELINE_METHOD]: stats(samples[BASELINE_METHOD]!) } as ClientResult['byMethod'];
}

export interface OpenSshKexOptions {
  readonly sshRuns?: number;
  readonly coldRuns?: number;
  readonly warmRuns?: number;
}

/** The whole comparison; null (after a loud message) when `ssh` is not installed. */
export async function benchOpenSshKex(o: OpenSshKexOptions = {}): Promise<OpenSshKexResult | null> {
  const ssh = findSsh();
  if (!ssh) {
    const msg = 'OpenSSH `ssh` not found: THE NACRE vs OPENSSH sntrup761 COMPARISON IS SKIPPED (run scripts/install-test-peers.sh)';
    console.warn('\n' + '!'.repeat(msg.length) + '\n' + msg + '\n' + '!'.repeat(msg.length) + '\n');
    return null;
  }
  const offered = spawnSync(ssh.path, ['-Q', 'kex'], { encoding: 'utf8' }).stdout.split('\n');
  const missing = METHODS.filter((m) => !offered.includes(m));
  if (missing.length) {
    const msg = `${ssh.version} does not offer ${missing.join(', ')}: THE NACRE vs OPENSSH COMPARISON IS SKIPPED (OpenSSH 9.9 or later needed)`;
    console.warn('\n' + '!'.repeat(msg.length) + '\n' + msg + '\n' + '!'.repeat(msg.length) + '\n');
    return null;
  }
  const server = await ServerChild.start();
  try {
    const port = server.port;
    const clients: ClientResult[] = [];
    clients.push({
      client: 'OpenSSH ssh',
      covers: 'whole ssh process (user+sys)',
      byMethod: await interleaved(o.sshRuns ?? 40, 2, async (kex) => {
        const [out, wall] = await Promise.all([runWithTimes(sshArgs(ssh.path, port, kex), true), server.next(kex)]);
        return { cpuMs: childrenCpuMs(out), serverWallMs: wall };
      }),
    });
    clients.push({
      client: 'Nacre, cold',
      covers: 'fresh node process, connect to keys exchanged',
      byMethod: await interleaved(o.coldRuns ?? 30, 0, async (kex) => {
        const [out, wall] = await Promise.all([runWithTimes([process.execPath, SELF, '--client', String(port), kex], false), server.next(kex)]);
        const json = out.split('\n').find((l) => l.startsWith('{'));
        if (!json) throw new Error(`cold client printed no result: ${out}`);
        const r = JSON.parse(json) as { cpuMs: number };
        return { cpuMs: r.cpuMs, processCpuMs: childrenCpuMs(out), serverWallMs: wall };
      }),
    });
    clients.push({
      client: 'Nacre, warm',
      covers: 'in the bench process after warm-up, connect to keys exchanged',
      byMethod: await interleaved(o.warmRuns ?? 30, 5, async (kex) => {
        const [r, wall] = await Promise.all([nacreClientOnce(port, kex), server.next(kex)]);
        return { cpuMs: r.cpuMs, serverWallMs: wall };
      }),
    });
    return { sshVersion: ssh.version, clients };
  } finally {
    server.stop();
  }
}

// ---------------------------------------------------------------- report

const f = (x: number, d = 2) => x.toFixed(d);

/** Markdown tables: per client and method, then the marginal cost of sntrup761 and its ratio to OpenSSH's. */
export function formatOpenSshKex(r: OpenSshKexResult): string {
  const out: string[] = [];
  out.push(`Client: ${r.sshVersion} vs Nacre; server: Nacre (separate process, ssh-ed25519 host key), loopback.`, '');
  out.push('| client | method | runs | client CPU ms (median) | whole-process CPU ms | server: accept → keys exchanged, ms (median) | CPU measured over |');
  out.push('|---|---|---:|---:|---:|---:|---|');
  for (const c of r.clients) {
    for (const m of METHODS) {
      const s = c.byMethod[m];
      out.push(`| ${c.client} | ${m} | ${s.runs} | ${f(s.cpuMs)} | ${s.processCpuMs !== undefined ? f(s.processCpuMs) : c.client.startsWith('OpenSSH') ? f(s.cpuMs) : '—'} | ${f(s.serverWallMs)} | ${c.covers} |`);
    }
  }
  out.push('', `Marginal cost of ${PQ_METHOD} over ${BASELINE_METHOD} (difference of medians). Target: Nacre / OpenSSH <= 1.0 for client CPU.`, '');
  out.push('| client | marginal client CPU ms | ratio to OpenSSH | target <= 1.0 | marginal whole-process CPU ms | marginal server-observed wall ms |');
  out.push('|---|---:|---:|:---:|---:|---:|');
  const ref = r.clients[0]!;
  const refCpu = ref.byMethod[PQ_METHOD].cpuMs - ref.byMethod[BASELINE_METHOD].cpuMs;
  for (const c of r.clients) {
    const pq = c.byMethod[PQ_METHOD];
    const base = c.byMethod[BASELINE_METHOD];
    const cpu = pq.cpuMs - base.cpuMs;
    const proc = pq.processCpuMs !== undefined && base.processCpuMs !== undefined ? f(pq.processCpuMs - base.processCpuMs) : c === ref ? f(cpu) : '—';
    let ratio = '—';
    let verdict = '—';
    if (c !== ref) {
      if (refCpu > 0.5) {
        // Two decimals would print 1.004 as "1.00" next to MISS.
        ratio = f(cpu / refCpu, Math.abs(cpu / refCpu - 1) < 0.005 ? 3 : 2);
        verdict = cpu / refCpu <= 1.0 ? 'PASS' : 'MISS';
      } else ratio = 'n/a (OpenSSH marginal below 0.5 ms)';
    }
    out.push(`| ${c.client} | ${f(cpu)} | ${ratio} | ${verdict} | ${proc} | ${f(pq.serverWallMs - base.serverWallMs)} |`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- entry points

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mode = process.argv[2];
  if (mode === '--server') serve();
  else if (mode === '--client') {
    const r = await nacreClientOnce(Number(process.argv[3]), process.argv[4] ?? PQ_METHOD);
    console.log(JSON.stringify(r));
  } else {
    const r = await benchOpenSshKex();
    if (r) console.log(formatOpenSshKex(r));
  }
}
