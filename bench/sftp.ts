// The `sftp` section of `npm run bench` (issue 13 §6): file transfer over
// SFTP, side by side in one run, every file held in /dev/shm:
//   - OpenSSH `sftp` against OpenSSH sshd with its `sftp-server` helper (the
//     reference pair);
//   - OpenSSH `sftp` against `nacred` (`Subsystem sftp internal-sftp`: the
//     file is read and written in the server's own process);
//   - `nacre-sftp` and the library client (`client.sftp()`, get/put) against sshd;
//   - the `ssh2` package's fastGet/fastPut against sshd, with node:crypto
//     (its native binding refused) and with its native binding when it loads.
// Each pair moves one 1 GiB file down and up, and a tree of 1,000 files of
// 4 KiB down and up (recursive get and put; ssh2 has no recursive transfer,
// so its rows are one fastGet/fastPut per file, one after another).
// nacred is a long-running server: its first transfers run code V8 has not
// optimized yet (about twice the CPU per small file of later ones), which
// sshd's freshly forked sftp-server, native code, never pays. So sftp →
// nacred runs twice against the same server: first on the fresh process
// (reported, not a target row), then the target row, after each kind of
// transfer has been made once. The clients are fresh processes in every row,
// as a tool run from a shell is.
// All with aes128-gcm@openssh.com, so that every pair does the same
// cryptographic work (ssh2 and Nacre both do it through node:crypto's
// AES-GCM unless ssh2's binding is loaded).
//
// Times are the transfer alone: the library clients time it themselves from
// a ready SFTP session to the last close; the `sftp`/`nacre-sftp` commands
// run `!date +%s.%N` before and after the transfer in their batch (a local
// shell escape, timed inside the session; should a tool not run it, the wall
// time of the same tool running a batch of just `pwd` is taken off instead).
// CPU: the client's own (the child process's cpuUsage for the library
// clients; for the commands their reaped times minus those of the `pwd`
// batch), and the server's from /proc (sshd with the sshd-session and
// sftp-server processes it reaped; nacred's own process), minus what the
// `pwd` batch cost it.
//
// Run: node dist/bench/sftp.js [--quick]   (or npm run bench -- --only=sftp)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, type OpenSsh } from '../test/interop/openssh.js';
import type { ClientLibrary, Job, Result, SftpOp } from './sftp-client.js';
import { startSftpNacred, startSftpSshd, userKey, type SftpCredentials, type SftpServer } from './sftp-peers.js';

const MiB = 1024 * 1024;
const CIPHER = 'aes128-gcm@openssh.com';
const NACRE_SFTP_JS = fileURLToPath(new URL('../src/cli/nacre-sftp.js', import.meta.url));
const CLIENT_JS = fileURLToPath(new URL('./sftp-client.js', import.meta.url));

export interface SftpBenchOptions {
  readonly bigBytes: number;
  readonly smallFiles: number;
  readonly smallBytes: number;
}

export const SFTP_DEFAULTS: SftpBenchOptions = { bigBytes: 1024 * MiB, smallFiles: 1000, smallBytes: 4096 };
export const SFTP_QUICK: SftpBenchOptions = { bigBytes: 256 * MiB, smallFiles: 200, smallBytes: 4096 };

type ClientKind = 'sftp' | 'nacre-sftp' | ClientLibrary;

interface Pair {
  readonly name: string;
  readonly client: ClientKind;
  readonly server: 'sshd' | 'nacred';
  /** Library rows: the process loads the tools' heap setting first (sftp-client.ts's `heapTuning`). */
  readonly heapTuning?: boolean;
  /** The first transfers a freshly started server makes (context for the warmed row after it, not a target row). */
  readonly fresh?: boolean;
}

const PAIRS: readonly Pair[] = [
  { name: 'OpenSSH sftp → sshd (sftp-server)', client: 'sftp', server: 'sshd' },
  { name: 'OpenSSH sftp → nacred (internal-sftp), first transfers of a fresh nacred', client: 'sftp', server: 'nacred', fresh: true },
  { name: 'OpenSSH sftp → nacred (internal-sftp)', client: 'sftp', server: 'nacred' },
  { name: 'nacre-sftp → sshd', client: 'nacre-sftp', server: 'sshd' },
  { name: 'Nacre library client.sftp() → sshd', client: 'nacre', server: 'sshd' },
  // The same with the heap setting nacre-sftp runs with (not a target row: the targets stay on V8's defaults above).
  { name: 'Nacre library client.sftp() → sshd, with the tools\' heap setting', client: 'nacre', server: 'sshd', heapTuning: true },
  { name: 'ssh2 fastGet/fastPut, node:crypto → sshd', client: 'ssh2-js', server: 'sshd' },
  { name: 'ssh2 fastGet/fastPut, native binding → sshd', client: 'ssh2', server: 'sshd' },
];

const OPS: readonly SftpOp[] = ['get', 'put', 'get-r', 'put-r'];

/** One measured cell: a transfer, or why it could not be made. */
export type Cell = { readonly ms: number; readonly bytes: number; readonly clientCpuMs: number | null; readonly serverCpuMs: number | null } | { readonly failed: string };

export interface PairResult {
  readonly pair: Pair;
  readonly cells: Partial<Record<SftpOp, Cell>>;
  readonly note?: string;
}

// ---------------------------------------------------------------- helpers

/** CPU ms of this process's reaped children (cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a program to its end; rejects (with its stderr) on a non-zero status. */
function runCommand(cmd: string, args: readonly string[], timeoutMs = 600_000): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${cmd.split('/').pop()} exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`));
    });
  });
}

function sshOptions(cred: SftpCredentials, s: SftpServer): string[] {
  return [
    '-F', 'none',
    '-P', String(s.port),
    '-i', cred.keyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${s.knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    '-o', `Ciphers=${CIPHER}`,
  ];
}

/** A batch line printing the local time (sftp's `!command`: a local shell). */
const TIMESTAMP = '!date +%s.%N';

function batchLine(op: SftpOp, remote: string, local: string): string {
  switch (op) {
    case 'get':
      return `get ${remote} ${local}`;
    case 'put':
      return `put ${local} ${remote}`;
    case 'get-r':
      return `get -r ${remote} ${local}`;
    case 'put-r':
      return `put -r ${local} ${remote}`;
  }
}

/** Checks that `to` holds what `from` holds (a file, or a flat directory of files). */
function verify(from: string, to: string, tree: boolean): void {
  const r = tree ? spawnSync('diff', ['-r', '-q', from, to], { encoding: 'utf8' }) : spawnSync('cmp', ['-s', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the copy at ${to} differs from ${from}${r.stdout ? `: ${r.stdout.split('\n')[0]}` : ''}`);
}

// ---------------------------------------------------------------- the run

interface Fixture {
  readonly dir: string;
  readonly big: string;
  readonly tree: string;
  readonly out: string;
  readonly treeBytes: number;
}

function makeFixture(o: SftpBenchOptions): Fixture {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'nacre-bench-sftp-'));
  const big = join(dir, 'big');
  // Random bytes, so that nothing along the way can take a shortcut on zeros.
  const r = spawnSync('/bin/sh', ['-c', `head -c ${o.bigBytes} /dev/urandom > "${big}"`]);
  if (r.status !== 0 || statSync(big).size !== o.bigBytes) throw new Error(`could not write ${o.bigBytes} bytes to ${big}`);
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  for (let i = 0; i < o.smallFiles; i++) writeFileSync(join(tree, `f${String(i).padStart(4, '0')}`), randomBytes(o.smallBytes));
  const out = join(dir, 'out');
  mkdirSync(out);
  return { dir, big, tree, out, treeBytes: o.smallFiles * o.smallBytes };
}

class Runner {
  constructor(
    private readonly openssh: OpenSsh,
    private readonly cred: SftpCredentials,
    private readonly fx: Fixture,
    private readonly log: (s: string) => void,
  ) {}

  /**
   * Runs `batch` with an sftp-like command; returns wall ms, the command's
   * CPU ms, and the ms between the first two `!date` lines of the batch
   * when it has them (sftp's local shell escape: the transfer alone, timed
   * inside the session).
   */
  private async command(kind: 'sftp' | 'nacre-sftp', server: SftpServer, lines: readonly string[]): Promise<{ ms: number; cpuMs: number; innerMs: number | null }> {
    const batch = join(this.fx.dir, 'batch');
    writeFileSync(batch, lines.join('\n') + '\n');
    const [cmd, prefix] = kind === 'sftp' ? [this.openssh.ssh.replace(/ssh$/, 'sftp'), [] as string[]] : [process.execPath, [NACRE_SFTP_JS]];
    const cpu0 = childrenCpuMs();
    const { ms, stdout } = await runCommand(cmd, [...prefix, '-q', '-b', batch, ...sshOptions(this.cred, server), `${this.cred.user}@127.0.0.1`]);
    const stamps = stdout.split('\n').filter((l) => /^\d+\.\d{9}$/.test(l.trim())).map((l) => Number(l.trim()));
    const innerMs = stamps.length >= 2 ? (stamps[1]! - stamps[0]!) * 1000 : null;
    return { ms, cpuMs: childrenCpuMs() - cpu0, innerMs };
  }

  private async library(lib: ClientLibrary, server: SftpServer, op: SftpOp, remote: string, local: string, heapTuning: boolean): Promise<Result> {
    const job: Job = { lib, op, port: server.port, user: this.cred.user, keyPath: this.cred.keyPath, keyText: this.cred.keyText, hostKeyB64: server.hostKeyBlob.toString('base64'), cipher: CIPHER, remote, local, ...(heapTuning ? { heapTuning } : {}) };
    const { stdout } = await runCommand(process.execPath, [CLIENT_JS, JSON.stringify(job)]);
    return JSON.parse(stdout.trim().split('\n').pop()!) as Result;
  }

  /** Setup cost of a command against a server (median of 3 batches of `pwd`): wall ms and CPU of both sides. */
  private async setup(kind: 'sftp' | 'nacre-sftp', server: SftpServer): Promise<{ ms: number; cpuMs: number; serverCpuMs: number }> {
    const runs: { ms: number; cpuMs: number; serverCpuMs: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const s0 = server.cpuMs();
      const r = await this.command(kind, server, ['pwd']);
      await sleep(150);
      const s1 = server.cpuMs();
      runs.push({ ...r, serverCpuMs: s0 !== null && s1 !== null ? s1 - s0 : 0 });
    }
    runs.sort((a, b) => a.ms - b.ms);
    return runs[1]!;
  }

  async pair(pair: Pair, server: SftpServer): Promise<PairResult> {
    const cells: Partial<Record<SftpOp, Cell>> = {};
    let note: string | undefined;
    let setup: { ms: number; cpuMs: number; serverCpuMs: number } | null = null;
    if (pair.client === 'sftp' || pair.client === 'nacre-sftp') {
      try {
        if (pair.client === 'nacre-sftp' && !existsSync(NACRE_SFTP_JS)) throw new Error('nacre-sftp is not in this build');
        setup = await this.setup(pair.client, server);
        note = `session setup ${setup.ms.toFixed(0)} ms`;
      } catch (e) {
        const why = (e as Error).message;
        for (const op of OPS) cells[op] = { failed: why };
        return { pair, cells };
      }
    }
    for (const op of OPS) {
      const tree = op.endsWith('-r');
      const src = tree ? this.fx.tree : this.fx.big;
      const dst = join(this.fx.out, `${op}-${pair.client}-${pair.server}`);
      const bytes = tree ? this.fx.treeBytes : statSync(this.fx.big).size;
      const [remote, local] = op.startsWith('get') ? [src, dst] : [dst, src];
      this.log(`sftp bench: ${pair.name}: ${op}`);
      try {
        const s0 = server.cpuMs();
        let ms: number;
        let clientCpuMs: number | null;
        if (setup) {
          const r = await this.command(pair.client as 'sftp' | 'nacre-sftp', server, [TIMESTAMP, batchLine(op, remote, local), TIMESTAMP]);
          // Timed inside the session when the tool runs `!command` lines; else the setup is taken off.
          ms = r.innerMs ?? Math.max(1, r.ms - setup.ms);
          if (r.innerMs === null) note = `${note}; no \`!\` timing: setup taken off`;
          clientCpuMs = Math.max(0, r.cpuMs - setup.cpuMs);
        } else {
          const r = await this.library(pair.client as ClientLibrary, server, op, remote, local, pair.heapTuning === true);
          ms = r.ms;
          clientCpuMs = r.cpuMs;
          if (r.native !== undefined) note = `ssh2 native binding ${r.native ? 'loaded' : 'not loaded'}`;
        }
        await sleep(150);
        const s1 = server.cpuMs();
        const serverCpuMs = s0 !== null && s1 !== null ? Math.max(0, s1 - s0 - (setup?.serverCpuMs ?? 0)) : null;
        verify(src, dst, tree);
        cells[op] = { ms, bytes, clientCpuMs, serverCpuMs };
      } catch (e) {
        cells[op] = { failed: (e as Error).message.split('\n')[0]! };
      } finally {
        rmSync(dst, { recursive: true, force: true });
      }
    }
    return { pair, cells, ...(note ? { note } : {}) };
  }
}

export async function benchSftp(o: SftpBenchOptions = SFTP_DEFAULTS, log: (s: string) => void = (s) => console.error(s)): Promise<PairResult[]> {
  const openssh = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH is not installed; scripts/install-test-peers.sh installs it');
  log('sftp bench: writing the files');
  const fx = makeFixture(o);
  const cred = userKey(openssh, fx.dir, userInfo().username);
  const servers: Partial<Record<'sshd' | 'nacred', SftpServer | string>> = {};
  try {
    try {
      servers.sshd = await startSftpSshd(openssh, cred.publicLine);
    } catch (e) {
      servers.sshd = (e as Error).message;
    }
    try {
      servers.nacred = await startSftpNacred(openssh, cred.publicLine);
    } catch (e) {
      servers.nacred = (e as Error).message;
    }
    const runner = new Runner(openssh, cred, fx, log);
    const results: PairResult[] = [];
    for (const pair of PAIRS) {
      const server = servers[pair.server]!;
      if (typeof server === 'string') {
        results.push({ pair, cells: Object.fromEntries(OPS.map((op) => [op, { failed: `${pair.server} did not start: ${server}` }])) });
        continue;
      }
      results.push(await runner.pair(pair, server));
    }
    return results;
  } finally {
    for (const s of Object.values(servers)) if (typeof s === 'object') await s.stop();
    rmSync(fx.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const rate = (c: Cell | undefined): number | null => (c && 'ms' in c ? c.bytes / MiB / (c.ms / 1000) : null);

export function formatSftp(results: readonly PairResult[], o: SftpBenchOptions = SFTP_DEFAULTS): { markdown: string; targets: string[] } {
  const out: string[] = [];
  const targets: string[] = [];
  const verdict = (ok: boolean) => (ok ? '**PASS**' : '**MISS**');
  const ref = results.find((r) => r.pair.client === 'sftp' && r.pair.server === 'sshd');
  const ssh2Rows = results.filter((r) => r.pair.client === 'ssh2' || r.pair.client === 'ssh2-js');
  /** The better ssh2 figure for `op` (the target is 3× the best ssh2 can do). */
  const ssh2Best = (op: SftpOp): number | null => {
    const xs = ssh2Rows.map((r) => rate(r.cells[op])).filter((x): x is number => x !== null);
    return xs.length ? Math.max(...xs) : null;
  };
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? `${(a / b).toFixed(2)}×` : '—');
  const failed = (c: Cell | undefined) => (!c ? '—' : 'failed' in c ? `not available: ${c.failed.replace(/\|/g, '/')}` : null);
  /** Big file: MiB/s and CPU ms per MiB. Tree: files/s and CPU ms per file. */
  const fig = (c: Cell | undefined, tree: boolean) => failed(c) ?? (tree ? (o.smallFiles / ((c as { ms: number }).ms / 1000)).toFixed(0) : rate(c)!.toFixed(0));
  const cpu = (c: Cell | undefined, which: 'clientCpuMs' | 'serverCpuMs', tree: boolean): string => {
    if (!c || !('ms' in c) || c[which] === null) return '—';
    return tree ? (c[which]! / o.smallFiles).toFixed(2) : (c[which]! / (c.bytes / MiB)).toFixed(2);
  };

  const table = (title: string, ops: readonly [SftpOp, SftpOp], tree: boolean) => {
    const unit = tree ? 'files/s' : 'MiB/s';
    const per = tree ? 'file' : 'MiB';
    out.push(`\n#### ${title}\n`);
    out.push(`| client → server | download ${unit} | upload ${unit} | download / OpenSSH pair | upload / OpenSSH pair | download / best ssh2 | upload / best ssh2 | client CPU ms/${per} down, up | server CPU ms/${per} down, up |`);
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const [d, u] = [r.cells[ops[0]], r.cells[ops[1]]];
      out.push(
        `| ${r.pair.name}${r.note ? ` (${r.note})` : ''} | ${fig(d, tree)} | ${fig(u, tree)} | ${ratio(rate(d), rate(ref?.cells[ops[0]]))} | ${ratio(rate(u), rate(ref?.cells[ops[1]]))} | ${ratio(rate(d), ssh2Best(ops[0]))} | ${ratio(rate(u), ssh2Best(ops[1]))} | ${cpu(d, 'clientCpuMs', tree)}, ${cpu(u, 'clientCpuMs', tree)} | ${cpu(d, 'serverCpuMs', tree)}, ${cpu(u, 'serverCpuMs', tree)} |`,
      );
    }
  };
  out.push(`All pairs with ${CIPHER}, one run each, files in /dev/shm; the transfer alone (timed inside the session); CPU: the client's own, and the server's with the processes it started. ssh2 has no recursive transfer: its tree rows are one fastGet/fastPut per file. nacred's target row runs on the same nacred after its \`fresh\` row (each kind of transfer made once before); sshd forks a new sftp-server for every session, so its row has no such warm-up to gain.`);
  table(`One file of ${o.bigBytes / MiB} MiB`, ['get', 'put'], false);
  table(`${o.smallFiles} files of ${o.smallBytes / 1024} KiB in one directory, recursive get and put`, ['get-r', 'put-r'], true);

  const check = (label: string, pairOf: (r: PairResult) => boolean, factor: number, against: 'ref' | 'ssh2') => {
    const row = results.find(pairOf);
    if (!row) return;
    for (const op of OPS) {
      const x = rate(row.cells[op]);
      const base = against === 'ref' ? rate(ref?.cells[op]) : ssh2Best(op);
      const what = `${label} ${op} >= ${factor}× ${against === 'ref' ? 'OpenSSH sftp/sshd' : 'best ssh2'}`;
      if (x === null || base === null) targets.push(`${what}: not measured (${x === null ? row.pair.name : 'reference'} not available)`);
      else if (op.endsWith('-r')) {
        const files = (mibs: number) => ((mibs * MiB) / o.smallBytes).toFixed(0);
        targets.push(`${what}: ${files(x)} vs ${files(base)} files/s (${(x / base).toFixed(2)}×) ${verdict(x >= factor * base)}`);
      } else targets.push(`${what}: ${x.toFixed(0)} vs ${base.toFixed(0)} MiB/s (${(x / base).toFixed(2)}×) ${verdict(x >= factor * base)}`);
    }
  };
  const warmNacred = (r: PairResult) => r.pair.server === 'nacred' && r.pair.fresh !== true;
  check('sftp → nacred', warmNacred, 1.2, 'ref');
  check('nacre-sftp → sshd', (r) => r.pair.client === 'nacre-sftp', 1, 'ref');
  check('library → sshd', (r) => r.pair.client === 'nacre' && !r.pair.heapTuning, 1, 'ref');
  check('sftp → nacred', warmNacred, 3, 'ssh2');
  check('nacre-sftp → sshd', (r) => r.pair.client === 'nacre-sftp', 3, 'ssh2');
  check('library → sshd', (r) => r.pair.client === 'nacre' && !r.pair.heapTuning, 3, 'ssh2');
  return { markdown: out.join('\n'), targets };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = process.argv.includes('--quick') ? SFTP_QUICK : SFTP_DEFAULTS;
  const { markdown, targets } = formatSftp(await benchSftp(o), o);
  console.log(markdown);
  console.log('\nTargets:\n');
  for (const t of targets) console.log(`- ${t}`);
}
