// The `nacre` command (issue 11) as a user feels it, side by side with
// OpenSSH's `ssh` against the same sshd in the same run:
//   - `nacre host true` as a whole command, against `ssh host true`;
//   - the same through a shared connection (ControlMaster), against ssh's
//     unshared and shared times (target: shared nacre under 1/5 of unshared ssh);
//   - bulk through `-L` (a local TCP sink/source at the far end), Nacre as the
//     client next to ssh (target: at least 80% of OpenSSH's);
//   - start-up to the first byte sent: from spawning the command to the first
//     byte a listening socket receives (the client's identification line).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type AddressInfo, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, freePort, keygen, tempDir, type OpenSsh } from '../test/interop/openssh.js';
import { sshArgs, sshFlags, startBenchSshd, type Credentials, type Target } from './connection-peers.js';
import { source as zeroSource } from './floor-measure.js';

const MiB = 1024 * 1024;
const NACRE = fileURLToPath(new URL('../src/cli/nacre.js', import.meta.url));

export interface NacreBenchOptions {
  readonly runs: number;
  readonly forwardBytes: number;
  readonly forwardRounds: number;
}

export const NACRE_DEFAULTS: NacreBenchOptions = { runs: 20, forwardBytes: 256 * MiB, forwardRounds: 3 };

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

export interface Tool {
  readonly name: string;
  readonly cmd: string;
  /** Arguments before the user's own, as in `cmd ...prefix ...args`. */
  readonly prefix: readonly string[];
}

/** The flags both tools get: no user config, this key only, this known_hosts only, no prompts. */
export function commonArgs(cred: Credentials, sshd: Pick<Target, 'port' | 'knownHosts'>): string[] {
  return sshFlags(cred, sshd);
}

function run(tool: Tool, args: readonly string[]): number {
  const t = performance.now();
  const r = spawnSync(tool.cmd, [...tool.prefix, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.error || r.status !== 0) throw new Error(`${tool.name} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString().trim().slice(-300)}`);
  return ms;
}

function timed(tool: Tool, args: readonly string[], runs: number): number {
  run(tool, args);
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(run(tool, args));
  return median(xs);
}

/** Starts a ControlMaster for `tool` in the background; returns the stop function. */
function startMaster(tool: Tool, base: readonly string[], controlPath: string, dest: string): () => void {
  const r = spawnSync(tool.cmd, [...tool.prefix, ...base, '-o', 'ControlMaster=yes', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=yes', '-f', '-N', dest], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  if (r.error || r.status !== 0) throw new Error(`${tool.name} master exited ${r.status}: ${r.stderr?.toString().trim().slice(-300)}`);
  return () => void spawnSync(tool.cmd, [...tool.prefix, '-o', `ControlPath=${controlPath}`, '-O', 'exit', dest], { stdio: 'ignore', timeout: 10_000 });
}

/** A TCP endpoint that swallows what it gets (upload) or sends `bytes` zeros to whoever connects (download: floor-measure.ts's source). */
async function sinkSource(mode: 'sink' | 'source', bytes: number): Promise<Server> {
  if (mode === 'source') return zeroSource(bytes);
  const server = createServer((s) => {
    s.on('error', () => {});
    s.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function waitForListen(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** MiB/s through `tool -L` to a sink (upload) or from a source (download); best of `rounds`. */
export async function forwardThroughput(tool: Tool, base: readonly string[], dest: string, direction: 'upload' | 'download', o: NacreBenchOptions): Promise<number> {
  const far = await sinkSource(direction === 'upload' ? 'sink' : 'source', o.forwardBytes);
  const farPort = (far.address() as AddressInfo).port;
  const localPort = await freePort();
  const child: ChildProcess = spawn(tool.cmd, [...tool.prefix, ...base, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${farPort}`, dest], { stdio: 'ignore' });
  try {
    await waitForListen(localPort, 20_000);
    let best = 0;
    const chunk = Buffer.alloc(256 * 1024);
    for (let r = 0; r < o.forwardRounds; r++) {
      const s = netConnect(localPort, '127.0.0.1');
      await once(s, 'connect');
      const t = performance.now();
      if (direction === 'upload') {
        for (let left = o.forwardBytes; left > 0; left -= chunk.length) if (!s.write(chunk)) await once(s, 'drain');
        // The far end only sees the bytes; wait until the tunnel has taken them all.
        s.end();
        await once(s, 'close');
      } else {
        let got = 0;
        s.on('data', (d: Buffer) => (got += d.length));
        await once(s, 'close');
        if (got !== o.forwardBytes) throw new Error(`${tool.name} -L delivered ${got} of ${o.forwardBytes} bytes`);
      }
      best = Math.max(best, o.forwardBytes / MiB / ((performance.now() - t) / 1000));
    }
    return best;
  } finally {
    child.kill('SIGTERM');
    far.close();
  }
}

/** Milliseconds from spawning `tool` to the first byte a listening socket receives. */
async function firstByteMs(tool: Tool, runs: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const got = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${tool.name} sent nothing in 10 s`)), 10_000);
      server.once('connection', (s) => s.once('data', () => (clearTimeout(timer), resolve(performance.now()), s.destroy())));
    });
    const t = performance.now();
    const child = spawn(tool.cmd, [...tool.prefix, '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-p', String(port), '127.0.0.1', 'true'], { stdio: 'ignore' });
    const at = await got.finally(() => {
      child.kill('SIGKILL');
      server.close();
    });
    if (i > 0) xs.push(at - t);
  }
  return median(xs);
}

export async function nacreMarkdown(o: NacreBenchOptions = NACRE_DEFAULTS, log: (s: string) => void = (s) => console.error(s)): Promise<string> {
  const openssh: OpenSsh | null = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH is not installed; scripts/install-test-peers.sh installs it');
  const dir = tempDir('bench-nacre');
  const key = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  const cred: Credentials = { user: userInfo().username, keyPath: key.privatePath, keyText: readFileSync(key.privatePath, 'utf8'), publicLine: key.publicLine };
  const sshd = await startBenchSshd(openssh, key.publicLine);
  const ssh: Tool = { name: 'ssh', cmd: openssh.ssh, prefix: [] };
  const nacre: Tool = { name: 'nacre', cmd: process.execPath, prefix: [NACRE] };
  const dest = `${cred.user}@127.0.0.1`;
  // The flags both tools get (connection-peers.ts's for ssh): no user config, this key only, this known_hosts only, no prompts.
  const base = sshArgs(openssh, cred, sshd).filter((a) => a !== dest);
  const out: string[] = [];
  try {
    log('nacre bench: whole commands');
    const sshMs = timed(ssh, [...base, dest, 'true'], o.runs);
    const nacreMs = timed(nacre, [...base, dest, 'true'], o.runs);
    const nodeMs = timed({ name: 'node', cmd: process.execPath, prefix: [] }, ['-e', '0'], o.runs);

    log('nacre bench: shared connections');
    const shared = (tool: Tool): number | string => {
      const path = join(dir, `cm-${tool.name}`);
      let stop: (() => void) | null = null;
      try {
        stop = startMaster(tool, base, path, dest);
        return timed(tool, [...base, '-o', `ControlPath=${path}`, '-o', 'ControlMaster=no', dest, 'true'], o.runs);
      } catch (e) {
        return (e as Error).message.split('\n')[0]!;
      } finally {
        stop?.();
      }
    };
    const sshShared = shared(ssh);
    const nacreShared = shared(nacre);

    log('nacre bench: -L throughput');
    const fwd: Record<string, number | string> = {};
    for (const direction of ['upload', 'download'] as const) {
      for (const tool of [ssh, nacre]) {
        try {
          fwd[`${tool.name} ${direction}`] = await forwardThroughput(tool, base, dest, direction, o);
        } catch (e) {
          fwd[`${tool.name} ${direction}`] = (e as Error).message.split('\n')[0]!;
        }
      }
    }

    log('nacre bench: start-up to first byte');
    const sshFirst = await firstByteMs(ssh, o.runs);
    const nacreFirst = await firstByteMs(nacre, o.runs);

    const ms = (x: number | string) => (typeof x === 'number' ? x.toFixed(1) : `failed: ${x}`);
    const mbs = (x: number | string | undefined) => (typeof x === 'number' ? x.toFixed(0) : `failed: ${x}`);
    const ratio = (a: number | string | undefined, b: number | string | undefined) => (typeof a === 'number' && typeof b === 'number' ? `${((a / b) * 100).toFixed(0)}%` : '–');
    out.push('### Whole commands against one sshd (ms, median of ' + o.runs + ')\n');
    out.push('| command | ssh | nacre | nacre / ssh |\n|---|---:|---:|---:|');
    out.push(`| \`host true\`, new connection | ${ms(sshMs)} | ${ms(nacreMs)} | ${ratio(nacreMs, sshMs)} |`);
    out.push(`| \`host true\` through a ControlMaster | ${ms(sshShared)} | ${ms(nacreShared)} | ${ratio(nacreShared, sshShared)} |`);
    out.push(`| first byte sent, from spawn | ${ms(sshFirst)} | ${ms(nacreFirst)} | ${ratio(nacreFirst, sshFirst)} |`);
    out.push(`\nNode alone (\`node -e 0\`): ${ms(nodeMs)} ms. Target: shared nacre under 1/5 of unshared ssh: ${typeof nacreShared === 'number' ? `${((nacreShared / sshMs) * 100).toFixed(0)}% of it` : 'not measured'}.\n`);
    out.push(`### Through \`-L\` (MiB/s, best of ${o.forwardRounds}, ${o.forwardBytes / MiB} MiB, default cipher)\n`);
    out.push('| direction | ssh | nacre | nacre / ssh |\n|---|---:|---:|---:|');
    for (const d of ['upload', 'download']) out.push(`| ${d} | ${mbs(fwd[`ssh ${d}`])} | ${mbs(fwd[`nacre ${d}`])} | ${ratio(fwd[`nacre ${d}`], fwd[`ssh ${d}`])} |`);
    return out.join('\n');
  } finally {
    await sshd.stop();
  }
}

// ---------------------------------------------------------------- start-up: this build against another

/** Wall and CPU (user + sys, via /usr/bin/time when present) of one command, in ms. */
function runMeasured(cmd: string, args: readonly string[], input?: string): { ms: number; cpuMs: number | null } {
  const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const t = performance.now();
  const r = time
    ? spawnSync(time, ['-f', '@@cpu %U %S', cmd, ...args], { input, stdio: ['pipe', 'ignore', 'pipe'] })
    : spawnSync(cmd, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  const stderr = r.stderr?.toString() ?? '';
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${stderr.trim().slice(-300)}`);
  const m = /@@cpu (\S+) (\S+)/.exec(stderr);
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null };
}

export interface StartupComparisonOptions {
  /** The `dist` folder of the build to compare against (its package.json and node_modules beside it). */
  readonly baselineDist: string;
  readonly runs: number;
}

/**
 * This build's nacre and nacre-sftp against another build's, against one
 * sshd, the two builds taking turns run by run (on a shared machine load
 * changes by the second; alternating spreads it over both): `host true` on a
 * new connection, the first byte from spawn, and `nacre-sftp -b` with one
 * `pwd` (a whole SFTP session set up and closed). Medians of wall and CPU.
 */
export async function startupComparison(o: StartupComparisonOptions, log: (s: string) => void = (s) => console.error(s)): Promise<string> {
  const openssh = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH is not installed; scripts/install-test-peers.sh installs it');
  const dir = tempDir('bench-startup');
  const key = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  const cred: Credentials = { user: userInfo().username, keyPath: key.privatePath, keyText: readFileSync(key.privatePath, 'utf8'), publicLine: key.publicLine };
  const sshd = await startBenchSshd(openssh, key.publicLine);
  const dest = `${cred.user}@127.0.0.1`;
  const base = sshArgs(openssh, cred, sshd).filter((a) => a !== dest);
  // nacre-sftp takes sftp's flags: -P for the port.
  const sftpBase = base.map((a, i) => (a === '-p' && base[i + 1] === String(sshd.port) ? '-P' : a));
  const builds = [
    { name: 'baseline', dist: o.baselineDist },
    { name: 'this build', dist: fileURLToPath(new URL('..', import.meta.url)) },
  ];
  type Row = Record<string, { ms: number[]; cpu: number[] }>;
  const rows: Record<string, Row> = { host: {}, sftp: {} };
  const first: Record<string, number[]> = {};
  const nodeAlone = { ms: [] as number[], cpu: [] as number[] };
  try {
    for (const b of builds) {
      rows.host![b.name] = { ms: [], cpu: [] };
      rows.sftp![b.name] = { ms: [], cpu: [] };
    }
    log(`startup bench: ${o.runs} rounds, builds taking turns`);
    for (let i = 0; i <= o.runs; i++) {
      for (const b of builds) {
        const nacre = join(b.dist, 'src/cli/nacre.js');
        const sftp = join(b.dist, 'src/cli/nacre-sftp.js');
        const h = runMeasured(process.execPath, [nacre, ...base, dest, 'true']);
        const s = runMeasured(process.execPath, [sftp, '-b', '-', ...sftpBase, dest], 'pwd\n');
        if (i === 0) continue; // warm-up
        rows.host![b.name]!.ms.push(h.ms);
        rows.sftp![b.name]!.ms.push(s.ms);
        if (h.cpuMs !== null) rows.host![b.name]!.cpu.push(h.cpuMs);
        if (s.cpuMs !== null) rows.sftp![b.name]!.cpu.push(s.cpuMs);
      }
      if (i > 0) {
        const n = runMeasured(process.execPath, ['-e', '0']);
        nodeAlone.ms.push(n.ms);
        if (n.cpuMs !== null) nodeAlone.cpu.push(n.cpuMs);
      }
    }
    for (const b of builds) first[b.name] = [];
    for (let i = 0; i < o.runs; i++) {
      for (const b of builds) first[b.name]!.push(await firstByteMs({ name: b.name, cmd: process.execPath, prefix: [join(b.dist, 'src/cli/nacre.js')] }, 1));
    }
  } finally {
    await sshd.stop();
  }
  const f = (xs: readonly number[]) => (xs.length ? median(xs).toFixed(0) : '–');
  const out = [`### This build against ${o.baselineDist} (median of ${o.runs}, builds alternating)\n`, '| command | baseline wall | this wall | baseline CPU | this CPU |', '|---|---:|---:|---:|---:|'];
  const line = (label: string, r: Row) => out.push(`| ${label} | ${f(r.baseline!.ms)} | ${f(r['this build']!.ms)} | ${f(r.baseline!.cpu)} | ${f(r['this build']!.cpu)} |`);
  line('`nacre host true`, new connection', rows.host!);
  out.push(`| first byte sent, from spawn | ${f(first.baseline!)} | ${f(first['this build']!)} | | |`);
  line('`nacre-sftp -b` (`pwd`), whole session', rows.sftp!);
  out.push(`\nNode alone (\`node -e 0\`): ${f(nodeAlone.ms)} ms wall, ${f(nodeAlone.cpu)} ms CPU.`);
  return out.join('\n');
}

// `node dist/bench/nacre.js --baseline=<dist> [--runs=N]`: the comparison above.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const baselineDist = arg('baseline');
  if (!baselineDist) {
    console.error('usage: node dist/bench/nacre.js --baseline=<another build\'s dist folder> [--runs=N]');
    process.exit(2);
  }
  console.log(await startupComparison({ baselineDist, runs: Number(arg('runs') ?? 15) }));
}
