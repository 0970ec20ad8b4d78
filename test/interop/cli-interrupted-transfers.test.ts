// Transfers cut short by a signal (newuser6 F3, F7): nacre-scp and
// nacre-sftp against OpenSSH's sshd, killed with SIGTERM, SIGHUP or SIGINT
// mid-file, leave the partial file under its own name (a prefix of the
// source) and no hidden temporary file, locally or on the server, and exit
// with status 1 — as OpenSSH's scp and sftp do (their killchild), checked
// here the same way. `reget` (nacre-sftp) then continues the partial file.
// Each kill waits until bytes have moved (the transfer's file is growing),
// not for a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOpenSsh, tempDir } from './openssh.js';
import { runCommand, startKeyedSshd, type KeyedSshd } from './nacre-run.js';

const o = findOpenSsh();
const skip = !o ? 'OpenSSH missing' : false;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli');
const OPENSSH_SCP = o ? join(dirname(o.ssh), 'scp') : 'scp';
const SIZE = 24 * 1024 * 1024;

let server: KeyedSshd;
let work: string;
let home: string;
let knownHosts: string;
let source: string;
let data: Buffer;

before(async () => {
  if (!o) return;
  server = await startKeyedSshd(o, 'interrupted');
  work = tempDir('interrupted');
  home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${server.sshd.port} ${server.sshd.hostKeys.ed25519}\n`);
  data = randomBytes(SIZE);
  source = join(work, 'source.bin');
  writeFileSync(source, data);
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function fresh(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** ssh options for the test server (no user config: HOME is empty). */
const sshOptions = (): string[] => ['-i', server.key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'];

/** Bytes of all files in `dir` (hidden ones included). */
function bytesIn(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) n += statSync(join(dir, name)).size;
  return n;
}

/**
 * Runs `program`, sends `signal` once more than 1 MiB has landed in `dir`
 * (checked every 50 ms, for at most 20 s), and gives the exit status and stderr.
 */
function killMidway(program: string, args: readonly string[], dir: string, signal: NodeJS.Signals, input = ''): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: ['pipe', 'ignore', 'pipe'], cwd: work, env: { PATH: process.env.PATH ?? '', HOME: home } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    let exited = false;
    child.on('exit', (code, sig) => {
      exited = true;
      resolve({ code, signal: sig, stderr });
    });
    void (async () => {
      for (let i = 0; i < 400 && !exited; i++) {
        if (bytesIn(dir) > 1024 * 1024) {
          child.kill(signal);
          return;
        }
        await sleep(50);
      }
      child.kill('SIGKILL');
      if (!exited) reject(new Error(`the transfer never started: ${stderr}`));
    })();
  });
}

/** The only file in `dir` is `name`, a prefix of the source shorter than it. */
function assertPartial(dir: string, name: string): number {
  assert.deepEqual(readdirSync(dir), [name], 'the partial file under its own name, no hidden temporary beside it');
  const got = readFileSync(join(dir, name));
  assert.ok(got.length > 0 && got.length < data.length, `a partial file (${got.length} bytes)`);
  assert.ok(got.equals(data.subarray(0, got.length)), 'a prefix of the source');
  return got.length;
}

const nacreScp = join(CLI, 'nacre-scp.js');
const nacreSftp = join(CLI, 'nacre-sftp.js');

test('nacre-scp download and upload killed mid-file: the partial file under its own name, status 1, as OpenSSH\'s scp', { skip, timeout: 120_000 }, async () => {
  const port = String(server.sshd.port);
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    const down = fresh(`scp-down-${signal}`);
    const got = await killMidway(process.execPath, [nacreScp, ...sshOptions(), '-q', '-l', '16000', '-P', port, `127.0.0.1:${source}`, join(down, 'copy.bin')], down, signal);
    assert.equal(got.code, 1, `${signal}: status 1 (${got.signal ?? ''}): ${got.stderr}`);
    assert.equal(got.stderr, '', 'nothing said, as scp');
    assertPartial(down, 'copy.bin');
  }
  const up = fresh('scp-up');
  const put = await killMidway(process.execPath, [nacreScp, ...sshOptions(), '-q', '-l', '16000', '-P', port, source, `127.0.0.1:${join(up, 'copy.bin')}`], up, 'SIGTERM');
  assert.equal(put.code, 1, put.stderr);
  assertPartial(up, 'copy.bin');
  // The oracle: OpenSSH's scp, killed the same way, leaves its partial file and exits 1.
  const theirs = fresh('scp-openssh');
  const ref = await killMidway(OPENSSH_SCP, [...sshOptions(), '-q', '-l', '16000', '-P', port, `127.0.0.1:${source}`, join(theirs, 'copy.bin')], theirs, 'SIGTERM');
  assert.equal(ref.code, 1);
  assertPartial(theirs, 'copy.bin');
});

test('nacre-sftp -b killed mid-get: the partial file is left, status 1, and reget completes it; an interrupted put leaves one for reput', { skip, timeout: 120_000 }, async () => {
  const port = String(server.sshd.port);
  const down = fresh('sftp-down');
  const flags = [...sshOptions(), '-l', '16000', '-P', port, '-b', '-', '127.0.0.1'];
  const got = await killMidway(process.execPath, [nacreSftp, ...flags], down, 'SIGHUP', `get ${source} ${join(down, 'copy.bin')}\n`);
  assert.equal(got.code, 1, got.stderr);
  assertPartial(down, 'copy.bin');
  const again = await runCommand(process.execPath, [nacreSftp, ...sshOptions(), '-P', port, '-b', '-', '127.0.0.1'], { home, input: `reget ${source} ${join(down, 'copy.bin')}\n` });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(createHash('sha256').update(readFileSync(join(down, 'copy.bin'))).digest('hex'), createHash('sha256').update(data).digest('hex'));

  const up = fresh('sftp-up');
  const put = await killMidway(process.execPath, [nacreSftp, ...flags], up, 'SIGTERM', `put ${source} ${join(up, 'copy.bin')}\n`);
  assert.equal(put.code, 1, put.stderr);
  assertPartial(up, 'copy.bin');
  const reput = await runCommand(process.execPath, [nacreSftp, ...sshOptions(), '-P', port, '-b', '-', '127.0.0.1'], { home, input: `reput ${source} ${join(up, 'copy.bin')}\n` });
  assert.equal(reput.code, 0, reput.stderr);
  assert.ok(readFileSync(join(up, 'copy.bin')).equals(data));
  assert.ok(existsSync(source));
});
