// Running out of file descriptors fails single requests, never the server:
// a program that cannot be spawned refuses its exec, a socket that cannot be
// opened refuses its channel, and once descriptors are free again all works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect, type Client } from '../../src/client/client.js';
import { OpenFailureReason } from '../../src/messages/connection.js';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import type { Channel } from '../../src/io/node/channel.js';
import { loadPty, runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret, echoServer, roundTrip, delay } from './server-helpers.js';

/** The same CommonJS object whose `spawn` exec-handler.ts imports (see syncBuiltinESMExports). */
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

/** What spawn() gives when it hits EMFILE: no pid, no pipes, and an 'error' on the next tick. */
function spawnWithoutDescriptors(file: string): ChildProcess {
  const child = new childProcess.ChildProcess();
  const err = Object.assign(new Error(`spawn ${file} EMFILE`), { code: 'EMFILE', errno: -24, syscall: `spawn ${file}` });
  process.nextTick(() => child.emit('error', err));
  return child;
}

test('runAsCurrentUser: a spawn that fails for want of descriptors refuses that exec; the connection and server go on', async () => {
  const errors: string[] = [];
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  t.server.on('error', (e) => errors.push(e.message));
  const realSpawn = childProcess.spawn;
  try {
    const c = await t.connect({ password: 'secret' });
    childProcess.spawn = ((file: string) => spawnWithoutDescriptors(file)) as typeof childProcess.spawn;
    syncBuiltinESMExports();
    await assert.rejects(c.exec('echo hi'), /refused to run/);
    assert.deepEqual(errors, ['cannot run echo hi: spawn /bin/sh EMFILE']);
    childProcess.spawn = realSpawn;
    syncBuiltinESMExports();
    assert.equal((await c.exec('echo again')).stdout, 'again\n');
  } finally {
    childProcess.spawn = realSpawn;
    syncBuiltinESMExports();
    await t.close();
  }
});

test('runAsCurrentUser: a shell that does not exist is, as in sshd, an exit status with the reason on stderr', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/nonexistent/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const r = await c.exec('true');
    assert.equal(r.code, 127);
    assert.match(r.stderr, /cannot run true: spawn \/nonexistent\/sh ENOENT/);
  } finally {
    await t.close();
  }
});

/**
 * Starts fd-limit-server.js and, once it listens, lowers its descriptor limit
 * to `limit` with prlimit(1) (util-linux). Lowering it only after start-up
 * keeps Node's module loader, which opens many files at once, out of the test.
 */
async function limitedServer(limit: number): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const script = fileURLToPath(new URL('./fd-limit-server.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${err}`)));
  });
  const lowered = spawnSync('prlimit', [`--pid=${child.pid}`, `--nofile=${limit}:${limit}`], { encoding: 'utf8' });
  if (lowered.status !== 0) {
    child.kill();
    throw new Error(`prlimit failed: ${lowered.error?.message ?? lowered.stderr}`);
  }
  return { child, port, stderr: () => err };
}

/** Connects to `port` and waits until the other side closes (or resets) without a word. */
async function dropped(port: number): Promise<void> {
  let received = 0;
  await new Promise<void>((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
  assert.equal(received, 0);
}

/** Opens direct-tcpip channels until the server cannot; returns them and the refusal. */
async function exhaust(c: Client, port: number): Promise<{ open: Channel[]; refusal: ChannelOpenError }> {
  const open: Channel[] = [];
  for (let i = 0; i < 1000; i++) {
    try {
      open.push(await c.openDirectTcpip({ host: '127.0.0.1', port }));
    } catch (e) {
      assert.ok(e instanceof ChannelOpenError, String(e));
      return { open, refusal: e };
    }
  }
  throw new Error('the server never ran out of descriptors');
}

test('a server at its descriptor limit refuses exec, PTY shells, forwards and connections, and serves again once descriptors are free', { timeout: 20_000 }, async () => {
  const server = await limitedServer(64);
  const echo = await echoServer();
  let c: Client | null = null;
  try {
    c = await connect({ host: '127.0.0.1', port: server.port, username: 'alice', password: 'secret', verifyHostKey: () => true, keepalive: false, readyTimeout: 10_000 });
    const pty = loadPty() !== null;
    // The first terminal loads node-pty, so the later one fails in forkpty.
    if (pty) assert.equal((await c.exec('exit 3', { pty: true })).code, 3);
    let forwardedBack = 0;
    const fwd = await c.forwardRemote({
      bindPort: 0,
      onConnection: (conn) => {
        forwardedBack++;
        conn.channel.end();
      },
    });
    const { open, refusal } = await exhaust(c, echo.port);
    assert.equal(refusal.openReason, OpenFailureReason.CONNECT_FAILED);
    assert.match(refusal.message, /EMFILE/);
    await assert.rejects(c.exec('echo hi'), /refused to run/);
    if (pty) await assert.rejects(c.exec('echo hi', { pty: true }), /refused to run/);
    // Listening and accepting fail too: a new -R forward is refused, and
    // connections to the -R listener and to the SSH port are dropped.
    await assert.rejects(c.forwardRemote({ bindPort: 0, onConnection: () => undefined }));
    await dropped(fwd.port);
    await dropped(server.port);
    assert.equal(forwardedBack, 0);
    assert.equal(server.child.exitCode, null, `the server is alive: ${server.stderr()}`);
    for (const ch of open) ch.destroy();
    await delay(200);
    assert.equal((await c.exec('echo again')).stdout, 'again\n');
    if (pty) assert.equal((await c.exec('exit 4', { pty: true })).code, 4);
    await assert.doesNotReject(roundTrip(netConnect(fwd.port, '127.0.0.1'), ''));
    assert.equal(forwardedBack, 1);
    assert.equal(server.child.exitCode, null);
    assert.match(server.stderr(), /cannot run echo hi: spawn \/bin\/sh EMFILE/);
  } finally {
    await c?.close().catch(() => undefined);
    server.child.kill();
    await echo.close();
  }
});
