// Builds of nacred's SFTP server (`Subsystem sftp internal-sftp`) side by
// side, OpenSSH `sftp` as the client, for a change's before and after: each
// build's nacred runs at once on its own port, and every round runs each
// transfer against each build in turn (the order reversed every other
// round: the server used second in a round came out cheaper in either
// role). What is measured is the nacred process's CPU (user + system, from
// /proc, its threads included) per MiB or per file, less what a `pwd` batch
// (the session's setup and teardown) cost it just before, and the rate.
// Every copy is compared with its source.
//
//   node dist/bench/sftp-server-ab.js <dist> [<dist> ...] [--rounds=6] [--ops=get,put,get-r,put-r] [--mib=256] [--files=1000] [--cold]
//
// Warm by default: each server does every transfer twice, untimed, first,
// so the rounds measure code V8 has optimized (what a server that has been
// up a while runs). `--cold` skips that: round 1 is then each server's
// first transfer of each kind (start new servers for each cold sample).
// A build is a `dist` folder (copy the old one aside before changing the
// code: `cp -r dist /tmp/old/dist`, with a `node_modules` link and
// `package.json` next to it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findOpenSsh, freePort, keygen, waitForPort } from '../test/interop/openssh.js';
import { processCpuMs } from './server.js';
import { writeNacredSftpConfig } from './sftp-peers.js';

type Op = 'get' | 'put' | 'get-r' | 'put-r';

interface Server {
  readonly label: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly dir: string;
  readonly knownHosts: string;
}

interface Sample {
  /** nacred CPU ms per MiB (get, put) or per file (get-r, put-r). */
  readonly perUnit: number;
  /** MiB/s or files/s. */
  readonly rate: number;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function option(name: string, fallback: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : a.slice(name.length + 3);
}

function cpuMs(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === null) throw new Error(`no CPU figures for process ${pid}`);
  return ms;
}

async function startNacred(dist: string, label: string, base: string, hostKey: { privatePath: string; publicLine: string }, authorized: string): Promise<Server> {
  const dir = join(base, label);
  mkdirSync(dir);
  const port = await freePort();
  const config = writeNacredSftpConfig(dir, port, hostKey.privatePath, authorized);
  const child = spawn(process.execPath, [join(dist, 'src/cli/nacred.js'), '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, 10_000, () => (child.exitCode !== null ? `nacred (${label}) exited early` : null));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey.publicLine}\n`);
  return { label, port, child, dir, knownHosts };
}

async function main(): Promise<void> {
  const dists = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((d) => resolve(d));
  if (dists.length === 0) throw new Error('usage: sftp-server-ab.js <dist> [<dist> ...] [--rounds=6] [--ops=get,put,get-r,put-r] [--mib=256] [--files=1000] [--cold]');
  for (const d of dists) if (!existsSync(join(d, 'src/cli/nacred.js'))) throw new Error(`${d}/src/cli/nacred.js is not built`);
  const rounds = Number(option('rounds', '6'));
  const ops = option('ops', 'get,put,get-r,put-r').split(',') as Op[];
  const mib = Number(option('mib', '256'));
  const files = Number(option('files', '1000'));
  const cold = process.argv.includes('--cold');
  const o = findOpenSsh();
  if (!o) throw new Error('OpenSSH is not installed');
  const sftp = o.ssh.replace(/ssh$/, 'sftp');

  const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'nacre-sftp-server-ab-'));
  const servers: Server[] = [];
  try {
    const user = keygen(o, base, 'ed25519', 'id_ed25519');
    const host = keygen(o, base, 'ed25519', 'host_ed25519');
    const authorized = join(base, 'authorized_keys');
    writeFileSync(authorized, user.publicLine + '\n');
    const big = join(base, 'big');
    spawnSync('/bin/sh', ['-c', `head -c ${mib * 1024 * 1024} /dev/urandom > "${big}"`]);
    const tree = join(base, 'tree');
    mkdirSync(tree);
    for (let i = 0; i < files; i++) writeFileSync(join(tree, `f${String(i).padStart(5, '0')}`), randomBytes(4096));
    for (const [i, d] of dists.entries()) servers.push(await startNacred(d, String.fromCharCode(65 + i), base, host, authorized));

    const batch = (s: Server, lines: readonly string[]): number => {
      const file = join(s.dir, 'batch');
      writeFileSync(file, lines.join('\n') + '\n');
      const t = process.hrtime.bigint();
      const r = spawnSync(sftp, ['-q', '-b', file, '-F', 'none', '-P', String(s.port), '-i', user.privatePath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${s.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'UpdateHostKeys=no', '-o', 'Ciphers=aes128-gcm@openssh.com', 'root@127.0.0.1'], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`sftp exited ${r.status ?? r.signal}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const measure = (s: Server, op: Op): Sample => {
      const out = join(s.dir, 'out');
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      let c = cpuMs(s.child.pid!);
      batch(s, ['pwd']);
      const setup = cpuMs(s.child.pid!) - c;
      const [lines, from, to, units] =
        op === 'get' ? [[`get ${big} ${join(out, 'big')}`], big, join(out, 'big'), mib]
        : op === 'put' ? [[`put ${big} ${join(out, 'big')}`], big, join(out, 'big'), mib]
        : op === 'get-r' ? [[`get -r ${tree} ${join(out, 'tree')}`], tree, join(out, 'tree'), files]
        : [[`put -r ${tree} ${join(out, 'tree')}`], tree, join(out, 'tree'), files];
      c = cpuMs(s.child.pid!);
      const ms = batch(s, lines);
      const used = cpuMs(s.child.pid!) - c - setup;
      const same = op === 'get' || op === 'put' ? spawnSync('cmp', [from, to]) : spawnSync('diff', ['-r', from, to]);
      if (same.status !== 0) throw new Error(`${op} on ${s.label}: the copy differs from its source`);
      return { perUnit: used / units, rate: units / (ms / 1000) };
    };

    if (!cold) for (const s of servers) for (const op of ops) for (let i = 0; i < 2; i++) measure(s, op);
    const results = new Map<string, Sample[]>();
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const op of ops)
        for (const s of order) {
          const m = measure(s, op);
          const key = `${op} ${s.label}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          console.log(`round ${r + 1} ${op} ${s.label}: ${m.perUnit.toFixed(3)} ms/${op.endsWith('-r') ? 'file' : 'MiB'}, ${m.rate.toFixed(0)} ${op.endsWith('-r') ? 'files' : 'MiB'}/s`);
        }
    }
    console.log(`\nnacred CPU per MiB or file (median, min-max) and rate (median); ${cold ? 'cold (no warm-up)' : 'warm (2 untimed transfers of each kind first)'}`);
    for (const [i, d] of dists.entries()) console.log(`  ${String.fromCharCode(65 + i)} = ${d}`);
    for (const op of ops) {
      const row = [`${op.padEnd(5)}`];
      for (const s of servers) {
        const xs = results.get(`${op} ${s.label}`)!;
        const per = xs.map((x) => x.perUnit);
        row.push(`${s.label} ${median(per).toFixed(3)} (${Math.min(...per).toFixed(3)}-${Math.max(...per).toFixed(3)}) ${median(xs.map((x) => x.rate)).toFixed(0)}/s`);
      }
      if (servers.length === 2) {
        const a = results.get(`${op} A`)!;
        const b = results.get(`${op} B`)!;
        const ratios = a.map((x, i) => b[i]!.perUnit / x.perUnit);
        row.push(`B/A ${median(ratios).toFixed(3)}, B cheaper in ${ratios.filter((x) => x < 1).length} of ${ratios.length}`);
      }
      console.log(row.join('  |  '));
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
