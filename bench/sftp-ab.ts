// Two builds of the library SFTP client side by side against one sshd (with
// sftp-server), alternating, for a change's before and after: the CPU per
// MiB or per file that the client's bench process (`sftp-client.ts`) used,
// and the rate, as medians over the rounds. Every copy is checked.
//
//   node dist/bench/sftp-ab.js <old dist> <new dist> [rounds=4] [ops=get,put,get-r,put-r] [MiB=512] [files=1000] [node flags]
//
// `node flags` (one argument, space-separated) go to both builds' client
// processes: `--heap-growing-percent=400` runs them with the heap setting
// the tools load (src/cli/common/heap-tuning.ts).
//
// A build is a `dist` folder (copy the old one aside before changing the
// code: `cp -r dist /tmp/old/dist`, with a `node_modules` link and
// `package.json` next to it).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh } from '../test/interop/openssh.js';
import type { Job, Result, SftpOp } from './sftp-client.js';
import { startSftpSshd, userKey } from './sftp-peers.js';

const MiB = 1024 * 1024;

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => (code === 0 ? done(out) : fail(new Error(`${cmd} exited ${code}`))));
  });
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const [oldDist, newDist, roundsArg, opsArg, mibArg, filesArg, flagsArg] = process.argv.slice(2);
  const nodeFlags = (flagsArg ?? '').split(' ').filter((f) => f !== '');
  if (!oldDist || !newDist) throw new Error('usage: sftp-ab.js <old dist> <new dist> [rounds] [ops] [MiB] [files]');
  const builds: [string, string][] = [
    ['old', resolve(oldDist)],
    ['new', resolve(newDist)],
  ];
  for (const [, d] of builds) if (!existsSync(join(d, 'bench/sftp-client.js'))) throw new Error(`${d}/bench/sftp-client.js is not built`);
  const rounds = Number(roundsArg ?? 4);
  const ops = (opsArg ?? 'get,put,get-r,put-r').split(',') as SftpOp[];
  const mib = Number(mibArg ?? 512);
  const files = Number(filesArg ?? 1000);
  const openssh = findOpenSsh();
  if (!openssh) throw new Error('OpenSSH is not installed');
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'nacre-sftp-ab-'));
  const big = join(dir, 'big');
  spawnSync('/bin/sh', ['-c', `head -c ${mib * MiB} /dev/urandom > "${big}"`]);
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  for (let i = 0; i < files; i++) writeFileSync(join(tree, `f${String(i).padStart(5, '0')}`), randomBytes(4096));
  const out = join(dir, 'out');
  mkdirSync(out);
  const cred = userKey(openssh, dir, userInfo().username);
  const sshd = await startSftpSshd(openssh, cred.publicLine);
  const cpu = new Map<string, number[]>();
  const rate = new Map<string, number[]>();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [name, d] of r % 2 === 0 ? builds : [...builds].reverse()) {
        for (const op of ops) {
          const isTree = op.endsWith('-r');
          const dst = join(out, op);
          const src = isTree ? tree : big;
          const [remote, local] = op.startsWith('get') ? [src, dst] : [dst, src];
          const job: Job = { lib: 'nacre', op, port: sshd.port, user: cred.user, keyPath: cred.keyPath, keyText: cred.keyText, hostKeyB64: sshd.hostKeyBlob.toString('base64'), cipher: 'aes128-gcm@openssh.com', remote, local };
          const res = JSON.parse((await run(process.execPath, [...nodeFlags, join(d, 'bench/sftp-client.js'), JSON.stringify(job)])).trim().split('\n').pop()!) as Result;
          const check = isTree ? spawnSync('diff', ['-r', '-q', src, dst]) : spawnSync('cmp', ['-s', src, dst]);
          if (check.status !== 0) throw new Error(`${name} ${op}: the copy differs`);
          rmSync(dst, { recursive: true, force: true });
          const units = isTree ? files : mib;
          const key = `${op} ${name}`;
          cpu.set(key, [...(cpu.get(key) ?? []), res.cpuMs / units]);
          rate.set(key, [...(rate.get(key) ?? []), units / (res.ms / 1000)]);
          console.error(`${name} ${op}: ${(res.cpuMs / units).toFixed(3)} ms/${isTree ? 'file' : 'MiB'}, ${(units / (res.ms / 1000)).toFixed(0)} ${isTree ? 'files' : 'MiB'}/s`);
        }
      }
    }
  } finally {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`| operation | old: client CPU (median) | new | old: rate (median) | new |\n|---|---:|---:|---:|---:|`);
  for (const op of ops) {
    const isTree = op.endsWith('-r');
    const c = (n: string) => median(cpu.get(`${op} ${n}`)!).toFixed(isTree ? 3 : 2);
    const v = (n: string) => median(rate.get(`${op} ${n}`)!).toFixed(0);
    console.log(`| ${op}, ${isTree ? `${files} × 4 KiB` : `${mib} MiB`} | ${c('old')} ms/${isTree ? 'file' : 'MiB'} | ${c('new')} | ${v('old')} ${isTree ? 'files' : 'MiB'}/s | ${v('new')} |`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
