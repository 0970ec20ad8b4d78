// How nacre ends, next to OpenSSH's ssh run the same way (newuser6 F8,
// F15): `-N` killed by SIGTERM exits 0, by SIGINT or SIGHUP 255, as ssh -N
// (against OpenSSH's sshd); a server that ends the connection with a
// DISCONNECT (a Nacre server shutting down) is told in ssh's words, with the
// server's reason, by nacre, and by nacre-sftp before its "Connection closed".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOpenSsh, freePort, tempDir } from './openssh.js';
import { NACRE, startKeyedSshd, type KeyedSshd } from './nacre-run.js';
import { createServer, type Server } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import { testHostKey } from '../node/server-helpers.js';

const o = findOpenSsh();
const skip = !o ? 'OpenSSH missing' : false;
const NACRE_SFTP = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre-sftp.js');
const OPENSSH_SFTP = o ? join(dirname(o.ssh), 'sftp') : 'sftp';

let sshd: KeyedSshd;
let work: string;
let home: string;

before(async () => {
  if (!o) return;
  sshd = await startKeyedSshd(o, 'endings');
  work = tempDir('endings');
  home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(work, 'kh-sshd'), `[127.0.0.1]:${sshd.sshd.port} ${sshd.sshd.hostKeys.ed25519}\n`);
});

after(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Ended {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** Runs `argv`; once `ready()` holds (checked every 50 ms, at most 20 s), calls `then()`; the exit. */
function runUntil(argv: readonly string[], ready: () => Promise<boolean>, then: (pid: number) => void | Promise<void>, input = ''): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], cwd: work, env: { PATH: process.env.PATH ?? '', HOME: home } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    let exited = false;
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal, stderr });
    });
    void (async () => {
      for (let i = 0; i < 400 && !exited; i++) {
        if (await ready()) {
          await then(child.pid!);
          return;
        }
        await sleep(50);
      }
      child.kill('SIGKILL');
      reject(new Error(`never ready: ${stderr}`));
    })();
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('nacre -N ends on SIGTERM with status 0 and on SIGINT, SIGHUP with 255, as ssh -N', { skip, timeout: 120_000 }, async () => {
  const common = ['-F', 'none', '-i', sshd.key, '-o', `UserKnownHostsFile=${join(work, 'kh-sshd')}`, '-p', String(sshd.sshd.port), '-N'];
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const statuses: (number | null)[] = [];
    for (const program of [[process.execPath, NACRE], [o!.ssh]]) {
      const port = await freePort();
      const ended = await runUntil([...program, ...common, '-L', `${port}:127.0.0.1:${sshd.sshd.port}`, '127.0.0.1'], () => listening(port), (pid) => void process.kill(pid, signal));
      assert.equal(ended.signal, null, `${program.at(-1)} ${signal}: not killed by it`);
      assert.equal(ended.stderr, '', `${program.at(-1)} ${signal}: nothing said`);
      statuses.push(ended.code);
    }
    assert.equal(statuses[0], statuses[1], `${signal}: nacre's status is ssh's`);
    assert.equal(statuses[0], signal === 'SIGTERM' ? 0 : 255);
  }
});

/** A Nacre server that lets anyone in, runs commands that never end, and serves `fs` over SFTP. */
async function nacreServer(fs: MemoryFileSystem): Promise<{ server: Server; port: number; knownHosts: string; execs: () => number }> {
  const key = testHostKey();
  let execs = 0;
  const server = createServer({
    hostKeys: [key],
    auth: { failureDelayMs: 0 },
    authenticate: () => true,
    session: (s) => {
      s.onExec = () => void execs++;
      s.onSubsystem = sftpSubsystem({ fileSystem: fs });
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const knownHosts = join(work, `kh-${port}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${key.keyType} ${Buffer.from(key.publicBlob).toString('base64')}\n`);
  return { server, port, knownHosts, execs: () => execs };
}

test("a server's DISCONNECT: nacre says ssh's two lines with the server's reason, status 255, as ssh", { skip, timeout: 60_000 }, async () => {
  const outputs: Ended[] = [];
  for (const program of [[process.execPath, NACRE], [o!.ssh]]) {
    const s = await nacreServer(new MemoryFileSystem({ now: Date.now }));
    const seen = s.execs();
    const ended = await runUntil(
      [...program, '-F', 'none', '-o', `UserKnownHostsFile=${s.knownHosts}`, '-p', String(s.port), '127.0.0.1', 'sleep 10'],
      async () => s.execs() > seen,
      () => s.server.close(),
    );
    outputs.push(ended);
  }
  const [ours, theirs] = outputs as [Ended, Ended];
  assert.equal(ours.code, 255);
  assert.equal(theirs.code, 255);
  assert.match(ours.stderr, /^Received disconnect from 127\.0\.0\.1 port \d+:11: server shutting down\nDisconnected from 127\.0\.0\.1 port \d+\n$/);
  // The same words as ssh's (its port is the other server's; its lines end \r\n).
  assert.equal(ours.stderr.replace(/port \d+/g, 'port P'), theirs.stderr.replaceAll('\r\n', '\n').replace(/port \d+/g, 'port P'));
});

test("nacre-sftp: a DISCONNECT mid-get is told as sftp's ssh tells it, then sftp's \"Connection closed\" (no \"remote open\"), status 255", { skip, timeout: 60_000 }, async () => {
  const outputs: Ended[] = [];
  for (const program of [[process.execPath, NACRE_SFTP], [OPENSSH_SFTP]]) {
    const fs = new MemoryFileSystem({ now: Date.now });
    fs.mkdirs('/d');
    fs.writeFile('/d/big', Buffer.alloc(32 * 1024 * 1024, 7));
    const s = await nacreServer(fs);
    const local = join(work, `sftp-${outputs.length}`);
    mkdirSync(local);
    const ended = await runUntil(
      [...program, '-F', 'none', '-o', `UserKnownHostsFile=${s.knownHosts}`, '-l', '16000', '-P', String(s.port), '-b', '-', '127.0.0.1'],
      async () => readdirSync(local).some((n) => statSync(join(local, n)).size > 1024 * 1024),
      () => s.server.close(),
      `get /d/big ${join(local, 'big')}\n`,
    );
    outputs.push(ended);
  }
  const [ours, theirs] = outputs as [Ended, Ended];
  assert.equal(ours.code, 255, ours.stderr);
  assert.doesNotMatch(ours.stderr, /remote open/);
  assert.match(ours.stderr, /^Received disconnect from 127\.0\.0\.1 port \d+:11: server shutting down\nDisconnected from 127\.0\.0\.1 port \d+\nConnection closed\n$/);
  // OpenSSH's sftp: its ssh's two lines first (sftp itself then dies of the
  // SIGPIPE of writing to its gone ssh, a status nacre-sftp does not copy).
  assert.match(theirs.stderr.replaceAll('\r\n', '\n'), /^Received disconnect from 127\.0\.0\.1 port \d+:11: server shutting down\nDisconnected from 127\.0\.0\.1 port \d+\n/);
});
