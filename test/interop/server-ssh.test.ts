// The real OpenSSH client against a Nacre server (createServer +
// runAsCurrentUser): every auth method, exec, PTY shell, bulk transfers both
// ways, rekeying, -L and -R forwarding, and the `npm start` code path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, freePort, keygen, runSsh, tempDir, waitForPort, type OpenSsh } from './openssh.js';
import { generateHostKey, parseOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { createServer, type Server, type ServerConnection } from '../../src/server/server.js';
import { loadPty, runAsCurrentUser } from '../../src/server/exec-handler.js';
import { shellQuote } from '../../src/server/terminal-settings.js';
import { startServer as startNpmServer } from '../../src/cli/start.js';
import { echoServer, roundTrip } from '../node/server-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';
const user = userInfo().username;
const MiB = 1024 * 1024;

let dir = '';
let port = 0;
let server: Server;
let keyPath = '';
let knownHosts = '';
const connections: ServerConnection[] = [];

before(async () => {
  if (!o) return;
  dir = tempDir('server-ssh');
  const client = keygen(o, dir, 'ed25519', 'id_ed25519');
  keyPath = client.privatePath;
  const allowed = parseOpenSshPublicKeyLine(client.publicLine).blob;
  const hostKeys = [generateHostKey('ssh-ed25519'), generateHostKey('ecdsa-sha2-nistp256')];
  server = createServer({
    hostKeys,
    auth: { failureDelayMs: 0 },
    authenticate: async (ctx) => {
      if (ctx.username !== user) return false;
      if (ctx.method === 'publickey') return Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(allowed));
      if (ctx.method === 'password') return ctx.password === 'pw-secret';
      if (ctx.method === 'keyboard-interactive') {
        const [answer] = await ctx.prompt(['Password: ']);
        return answer === 'kbd-secret';
      }
      return false;
    },
    session: (s) => runAsCurrentUser(s),
    forwardLocal: () => true,
    forwardRemote: () => true,
  });
  server.on('connection', (c) => connections.push(c));
  port = (await server.listen(0, '127.0.0.1')).port;
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hostKeys.map((k) => formatKnownHostLine('127.0.0.1', port, k.publicBlob)).join('\n') + '\n');
});

after(async () => {
  if (!o) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ssh options every test uses: no user config, verified host key, our key only. */
function base(extra: string[] = [], batch = true): string[] {
  return [
    '-p', String(port),
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `BatchMode=${batch ? 'yes' : 'no'}`,
    '-o', 'IdentitiesOnly=yes',
    '-i', keyPath,
    ...extra,
  ];
}

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  seconds: number;
}

/** Runs a program; `input` is a string or a generator of chunks written with backpressure. */
function run(cmd: string, args: string[], input?: string | (() => Iterable<Buffer>), timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
    if (typeof input === 'function') {
      const it = input()[Symbol.iterator]();
      const pump = () => {
        for (let r = it.next(); !r.done; r = it.next()) if (!child.stdin.write(r.value)) return void child.stdin.once('drain', pump);
        child.stdin.end();
      };
      pump();
    } else child.stdin.end(input ?? '');
  });
}

function* randomChunks(total: number, hash: ReturnType<typeof createHash>): Iterable<Buffer> {
  for (let sent = 0; sent < total; sent += MiB) {
    const b = randomBytes(Math.min(MiB, total - sent));
    hash.update(b);
    yield b;
  }
}

test('publickey (ed25519 from ssh-keygen) and exec with exit codes', { skip }, async () => {
  const r = await runSsh(o!, [...base(), `${user}@127.0.0.1`, 'echo hello; echo oops >&2; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'hello\n');
  assert.match(r.stderr, /oops/);
  const ok = await runSsh(o!, [...base(), `${user}@127.0.0.1`, 'true']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('password via sshpass', { skip }, async () => {
  const args = ['-p', 'pw-secret', o!.ssh, '-F', 'none', ...base(['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'], false), `${user}@127.0.0.1`, 'echo pw-ok'];
  const r = await run('sshpass', args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'pw-ok\n');
  args[1] = 'wrong';
  const bad = await run('sshpass', args);
  assert.notEqual(bad.code, 0);
});

test('keyboard-interactive via sshpass', { skip }, async () => {
  const opts = ['-o', 'KbdInteractiveAuthentication=yes', '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];
  const r = await run('sshpass', ['-p', 'kbd-secret', o!.ssh, '-F', 'none', ...base(opts, false), `${user}@127.0.0.1`, 'echo kbd-ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'kbd-ok\n');
});

test('ssh -tt: a PTY-backed login shell', { skip }, async () => {
  const r = await runSsh(o!, [...base(['-tt']), `${user}@127.0.0.1`], 20_000, 'echo h""i; tty; exit\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^hi\r?$/m);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
});

test("ssh -t from a terminal: the client's terminal modes reach the program's PTY", { skip: skip || (loadPty() ? false : 'node-pty did not load'), timeout: 30_000 }, async () => {
  // ssh sends the modes of the terminal it runs on, so it runs on one here,
  // set away from the defaults first: intr ^X, erase ^H, no echoctl.
  const sshLine = [o!.ssh, '-F', 'none', ...base(['-t']), `${user}@127.0.0.1`, 'stty -a'].map(shellQuote).join(' ');
  const term = loadPty()!.spawn('/bin/sh', ['-c', `stty intr ^X erase ^H -echoctl && exec ${sshLine}`], { name: 'xterm', cols: 100, rows: 30, cwd: dir, env: { ...process.env } as Record<string, string>, encoding: 'utf8' });
  let out = '';
  term.onData((d) => (out += d.toString()));
  const code = await new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  assert.equal(code, 0, out);
  assert.match(out, /intr = \^X;/, out);
  assert.match(out, /erase = \^H;/, out);
  assert.match(out, /(^|\s)-echoctl(\s|$)/m, out);
  assert.match(out, /rows 30; columns 100;/, out);
});

test('100 MiB each way with SHA-256 compared', { skip, timeout: 300_000 }, async () => {
  const size = 100 * MiB;
  const upHash = createHash('sha256');
  const up = await run(o!.ssh, ['-F', 'none', ...base(), `${user}@127.0.0.1`, 'sha256sum'], () => randomChunks(size, upHash), 240_000);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout.toString().split(' ')[0], upHash.digest('hex'));

  const down = await run(o!.ssh, ['-F', 'none', ...base(), `${user}@127.0.0.1`, `bash -c 'head -c ${size} /dev/urandom | tee >(sha256sum >&2)'`], undefined, 240_000);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout.length, size);
  assert.equal(down.stderr.trim().split(' ')[0], createHash('sha256').update(down.stdout).digest('hex'));
  console.log(`100 MiB upload ${up.seconds.toFixed(2)} s (${(100 / up.seconds).toFixed(1)} MiB/s), download ${down.seconds.toFixed(2)} s (${(100 / down.seconds).toFixed(1)} MiB/s)`);
});

test('RekeyLimit=1M: 20 MiB with many rekeys', { skip, timeout: 120_000 }, async () => {
  const before = connections.length;
  const hash = createHash('sha256');
  const r = await run(o!.ssh, ['-F', 'none', '-v', ...base(['-o', 'RekeyLimit=1M']), `${user}@127.0.0.1`, 'sha256sum'], () => randomChunks(20 * MiB, hash), 100_000);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.equal(r.stdout.toString().split(' ')[0], hash.digest('hex'));
  const clientSaw = r.stderr.split('SSH2_MSG_NEWKEYS received').length - 1;
  const conn = connections[before];
  assert.ok(clientSaw >= 10, `only ${clientSaw} key exchanges seen by ssh`);
  assert.ok(conn && conn.keyExchanges >= 10, `server saw ${conn?.keyExchanges} key exchanges`);
  console.log(`RekeyLimit=1M over 20 MiB: ${clientSaw} NEWKEYS at ssh, ${conn!.keyExchanges} key exchanges at the server`);
});

async function withForward(flag: '-L' | '-R', spec: (echoPort: number, p: number) => string, check: (p: number) => Promise<void>): Promise<void> {
  const echo = await echoServer();
  const p = await freePort();
  const child = spawn(o!.ssh, ['-F', 'none', ...base(['-N', '-o', 'ExitOnForwardFailure=yes', flag, spec(echo.port, p)]), `${user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(p, 10_000, () => (child.exitCode !== null ? `ssh exited with ${child.exitCode}` : null)).catch((e: Error) => {
      throw new Error(`${e.message}: ${stderr}`);
    });
    await check(p);
  } finally {
    const gone = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await gone;
    await echo.close();
  }
}

test('ssh -L: direct-tcpip through the server', { skip }, async () => {
  await withForward('-L', (echoPort, p) => `${p}:127.0.0.1:${echoPort}`, async (p) => {
    const payload = randomBytes(2 * MiB);
    assert.ok((await roundTrip(netConnect(p, '127.0.0.1'), payload)).equals(payload));
  });
});

test('ssh -R: the server listens and forwards back', { skip }, async () => {
  await withForward('-R', (echoPort, p) => `${p}:127.0.0.1:${echoPort}`, async (p) => {
    const payload = randomBytes(2 * MiB);
    assert.ok((await roundTrip(netConnect(p, '127.0.0.1'), payload)).equals(payload));
    const again = Buffer.from('second connection');
    assert.ok((await roundTrip(netConnect(p, '127.0.0.1'), again)).equals(again));
  });
});

test('npm start code path: startServer with a temp HOME and authorized key', { skip }, async () => {
  const home = tempDir('start-home');
  const stateDir = join(home, 'state');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const key = keygen(o as OpenSsh, home, 'ed25519', 'login_key');
  writeFileSync(join(home, '.ssh', 'authorized_keys'), `${key.publicLine}\n`);
  const started = await startNpmServer({ port: 0, stateDir, home, log: () => undefined });
  try {
    assert.equal(started.authorizedKeyCount, 1);
    assert.equal(started.fingerprints.length, 3);
    const args = ['-p', String(started.address.port), '-o', `UserKnownHostsFile=${started.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key.privatePath];
    const r = await runSsh(o!, [...args, `${started.username}@127.0.0.1`, 'echo ok; echo $HOME']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `ok\n${home}\n`);
    // Another user name is refused, as is a key that is not authorized.
    const other = await runSsh(o!, [...args, `not-${started.username}@127.0.0.1`, 'true']);
    assert.notEqual(other.code, 0);
  } finally {
    await started.close();
  }
  // Host keys are reused on the next start.
  const again = await startNpmServer({ port: 0, stateDir, home, log: () => undefined });
  try {
    assert.deepEqual(again.fingerprints, started.fingerprints);
  } finally {
    await again.close();
    rmSync(home, { recursive: true, force: true });
  }
});
