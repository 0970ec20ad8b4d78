// Connection sharing through the public API: listenControl() shares a Client
// over a Unix socket, connectControl() runs commands and controls through it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { listenControl, connectControl, ControlSocketError, MuxRequestError, MUX_PORT_STREAMLOCAL } from '../../src/index.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret, echoServer, roundTrip } from './server-helpers.js';

const base = mkdtempSync(join(tmpdir(), 'nacre-ctl-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function privateDir(): string {
  const d = join(base, `d${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

async function setup() {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      runAsCurrentUser(s);
      s.onEnv = (name) => name === 'NACRE_TEST';
    },
    forwardLocal: () => true,
    forwardRemote: () => true,
  });
  const client = await t.connect({ password: 'secret' });
  const path = join(privateDir(), 'ctl');
  const master = await listenControl(client, { path });
  return { t, client, master, path };
}

test('a shared exec: output, stderr, exit status and stdin through the master; the socket is 0600', async () => {
  const { t, master, path } = await setup();
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(statSync(path).isSocket());
    const c = await connectControl(path);
    assert.equal(await c.supportsSessions(), true);
    assert.equal(await c.check(), process.pid);
    const r = await c.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual([r.stdout.toString(), r.stderr.toString(), r.code], ['out\n', 'err\n', 3]);
    assert.equal((await c.exec('tr a-z A-Z', { stdin: 'hello' })).stdout.toString(), 'HELLO');
    const k = await c.exec('kill -TERM $$');
    assert.deepEqual([k.code, k.signal], [null, 'TERM']);
    c.close();
    await master.close();
    assert.ok(!existsSync(path), 'closing the master removes its socket');
  } finally {
    await t.close();
  }
});

test('bulk data both ways through a slow reader arrives intact (windows and backpressure)', async () => {
  const { t, master, path } = await setup();
  try {
    const c = await connectControl(path);
    const data = randomBytes(3 * 1024 * 1024);
    const p = await c.spawn('cat');
    const parts: Buffer[] = [];
    // Read slowly: pause after every chunk for a moment.
    p.stdout.on('data', (b: Buffer) => {
      parts.push(b);
      p.stdout.pause();
      setTimeout(() => p.stdout.resume(), 1);
    });
    const ended = new Promise((r) => p.stdout.on('end', r));
    p.stdin.end(data);
    await ended;
    const exit = await p.exit;
    assert.equal(exit.code, 0);
    const got = Buffer.concat(parts);
    assert.equal(got.length, data.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'));
    c.close();
    await master.close();
  } finally {
    await t.close();
  }
});

test('several clients at once, each with sessions; the master counts them and says when it is idle', async () => {
  const { t, master, path } = await setup();
  try {
    const idle = new Promise<void>((r) => master.once('idle', () => r()));
    const clients = await Promise.all([connectControl(path), connectControl(path)]);
    const results = await Promise.all(clients.flatMap((c, i) => [0, 1, 2].map((j) => c.exec(`echo ${i}-${j}`))));
    assert.deepEqual(results.map((r) => r.stdout.toString().trim()).sort(), ['0-0', '0-1', '0-2', '1-0', '1-1', '1-2']);
    await idle;
    assert.equal(master.sessions, 0);
    for (const c of clients) c.close();
    await master.close();
  } finally {
    await t.close();
  }
});

test('a client going away ends its sessions on the server', async () => {
  const { t, master, path } = await setup();
  try {
    const c = await connectControl(path);
    // (The test server waits for the command when the channel closes: keep it short.)
    const p = await c.spawn('sleep 1');
    const busy = master.sessions;
    assert.equal(busy, 1);
    const idle = new Promise<void>((r) => master.once('idle', () => r()));
    c.close();
    await idle;
    assert.equal(master.sessions, 0);
    void p;
    await master.close();
  } finally {
    await t.close();
  }
});

test('-O forward and cancel: local TCP and Unix-socket, dynamic (SOCKS) and remote forwardings through the master; a remote one of port 0 reports its port', async () => {
  const { t, master, path } = await setup();
  const echo = await echoServer();
  try {
    const c = await connectControl(path);
    const free = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => r(port));
      });
    });
    const local = { kind: 'local', listenHost: '127.0.0.1', listenPort: free, connectHost: '127.0.0.1', connectPort: echo.port } as const;
    assert.equal(await c.forward(local), null);
    assert.equal((await roundTrip(netConnect(free, '127.0.0.1'), 'through the master')).toString(), 'through the master');
    // ssh answers a forwarding it already has with success.
    assert.equal(await c.forward(local), null);
    await c.cancel(local);
    await assert.rejects(c.cancel(local), (e: unknown) => e instanceof MuxRequestError && /not forwarded/.test(e.message));
    // -D through the master: SOCKS 5 to the echo server.
    const socksPort = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => r(port));
      });
    });
    const dynamic = { kind: 'dynamic', listenHost: '127.0.0.1', listenPort: socksPort, connectHost: '', connectPort: 0 } as const;
    assert.equal(await c.forward(dynamic), null);
    const socks = netConnect(socksPort, '127.0.0.1');
    const replies: Buffer[] = [];
    socks.on('data', (b: Buffer) => replies.push(b));
    const bytes = async (n: number) => {
      while (Buffer.concat(replies).length < n) await new Promise((r) => setTimeout(r, 5));
      const all = Buffer.concat(replies);
      replies.length = 0;
      if (all.length > n) replies.push(all.subarray(n));
      return all.subarray(0, n);
    };
    socks.write(Buffer.from([5, 1, 0]));
    assert.deepEqual([...(await bytes(2))], [5, 0]);
    socks.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, echo.port >> 8, echo.port & 0xff]));
    assert.equal((await bytes(10))[1], 0, 'SOCKS request granted');
    socks.write('socks through the master');
    assert.equal((await bytes(24)).toString(), 'socks through the master');
    socks.destroy();
    await c.cancel(dynamic);
    // -L from a Unix socket.
    const sockPath = join(privateDir(), 'fwd.sock');
    const unix = { kind: 'local', listenHost: sockPath, listenPort: MUX_PORT_STREAMLOCAL, connectHost: '127.0.0.1', connectPort: echo.port } as const;
    assert.equal(await c.forward(unix), null);
    assert.equal((await roundTrip(netConnect(sockPath), 'via a socket')).toString(), 'via a socket');
    await c.cancel(unix);
    const remote = { kind: 'remote', listenHost: '127.0.0.1', listenPort: 0, connectHost: '127.0.0.1', connectPort: echo.port } as const;
    const port = await c.forward(remote);
    assert.ok(port !== null && port > 0);
    assert.equal((await roundTrip(netConnect(port, '127.0.0.1'), 'back through')).toString(), 'back through');
    await c.cancel({ ...remote, listenPort: port });
    c.close();
    await master.close();
  } finally {
    await echo.close();
    await t.close();
  }
});

test('-O stop removes the socket and keeps running sessions; -O exit closes the Client', async () => {
  const { t, client, master, path } = await setup();
  try {
    const c = await connectControl(path);
    const p = await c.spawn('sleep 0.3; echo still here');
    const out: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    await c.stopListening();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(path));
    assert.equal(master.isListening, false);
    await p.exit;
    assert.equal(Buffer.concat(out).toString(), 'still here\n');
    const terminated = new Promise<void>((r) => master.once('terminate', () => r()));
    await c.exit();
    await terminated;
    assert.equal(await client.closed, null);
  } finally {
    await t.close();
  }
});

test('control path errors: missing, stale, another master, unsafe directory, not a socket', async () => {
  const dir = privateDir();
  const path = join(dir, 'ctl');
  await assert.rejects(connectControl(path), (e: unknown) => e instanceof ControlSocketError && e.problem === 'missing');
  // A socket nobody listens on: what a killed master leaves behind.
  const s = createServer();
  await new Promise<void>((r) => s.listen(path, r));
  const { t, client } = await (async () => {
    const t = await startServer({ authenticate: passwordSecret, session: (x) => runAsCurrentUser(x) });
    return { t, client: await t.connect({ password: 'secret' }) };
  })();
  try {
    // Held by a live listener: a second master is refused.
    await assert.rejects(listenControl(client, { path }), (e: unknown) => e instanceof ControlSocketError && e.problem === 'in-use' && /already exists/.test(e.message));
    // Closing a Node listener removes its path; a listener killed outright leaves it.
    await new Promise((r) => s.close(r));
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => dead.stdout.once('data', r));
    dead.kill('SIGKILL');
    await new Promise((r) => dead.once('exit', r));
    await assert.rejects(connectControl(path), (e: unknown) => e instanceof ControlSocketError && e.problem === 'stale');
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(listenControl(client, { path: join(open, 'ctl') }), (e: unknown) => e instanceof ControlSocketError && e.problem === 'unsafe');
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    await assert.rejects(connectControl(file), (e: unknown) => e instanceof ControlSocketError && e.problem === 'unsafe');
  } finally {
    await t.close();
  }
});

test('a shared PTY session: size, environment, resize and signals reach the remote side', async () => {
  const { t, master, path } = await setup();
  try {
    const c = await connectControl(path);
    const r = await c.exec('stty size; echo $NACRE_TEST', { pty: { cols: 100, rows: 30 }, env: { NACRE_TEST: 'passed' } });
    assert.match(r.stdout.toString(), /^30 100\r?\npassed\r?\n$/);
    const p = await c.spawn('sleep 0.5; stty size', { pty: { cols: 80, rows: 24 } });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b));
    await p.resize(132, 50);
    await p.exit;
    assert.match(out, /50 132/);
    const s = await c.spawn('sleep 5');
    await new Promise((res) => setTimeout(res, 100));
    await s.signal('TERM');
    const e = await s.exit;
    assert.equal(e.signal, 'TERM');
    c.close();
    await master.close();
  } finally {
    await t.close();
  }
});

test('close() on a shared process ends its streams and settles exit with no status, as a channel does', async () => {
  const { t, master, path } = await setup();
  try {
    const c = await connectControl(path);
    const p = await c.spawn('sleep 1');
    const ended = new Promise((r) => p.stdout.on('end', r));
    p.stdout.resume();
    p.close();
    await ended;
    assert.deepEqual(await p.exit, { code: null, signal: null });
    assert.equal(await c.check(), process.pid, 'the control connection lives on');
    c.close();
    await master.close();
  } finally {
    await t.close();
  }
});

test('a shared exec whose command is bytes that are not UTF-8: the master runs exactly those bytes (a file so named is read)', async () => {
  const { t, master, path } = await setup();
  const dir = privateDir();
  // A file named "x\xff" (Buffer paths reach the bytes).
  writeFileSync(Buffer.concat([Buffer.from(dir + '/x'), Buffer.from([0xff])]), 'named by a byte\n');
  try {
    const c = await connectControl(path);
    const printed = await c.exec(Buffer.concat([Buffer.from("printf %s '"), Buffer.from([0xfe, 0x80]), Buffer.from("'")]));
    assert.deepEqual([...printed.stdout], [0xfe, 0x80]);
    const cat = await c.exec(Buffer.concat([Buffer.from(`cat ${dir}/x`), Buffer.from([0xff])]));
    assert.deepEqual([cat.stdout.toString(), cat.code], ['named by a byte\n', 0]);
    // The same command as text reaches a file named with U+FFFD's bytes instead: none.
    const text = await c.exec(`cat ${dir}/x\ufffd`);
    assert.notEqual(text.code, 0);
    c.close();
    await master.close();
  } finally {
    await t.close();
  }
});

test("another user's control socket is refused, also for root (that user's master would serve root's sessions)", { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, async () => {
  const { chownSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'nacre-foreign-master-'));
  const path = join(dir, 'sock');
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => srv.listen(path, resolve));
  try {
    chownSync(path, 65534, 65534);
    await assert.rejects(connectControl(path), (e: unknown) => e instanceof ControlSocketError && e.problem === 'unsafe' && /belongs to another user \(uid 65534\)/.test(e.message));
  } finally {
    await new Promise((resolve) => srv.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
