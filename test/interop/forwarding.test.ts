// Forwarding and jump hosts against OpenSSH 10's sshd: -L and -R over TCP
// ports and Unix sockets, -D through curl and hand-written SOCKS clients,
// remote dynamic forwarding, -W, ProxyJump through two hops, ProxyCommand,
// and nacre's forwarding module (messages, ExitOnForwardFailure, ~C).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { findOpenSsh, runSsh, startSshd, keygen, tempDir, freePort, type Sshd } from './openssh.js';
import { connect, type Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { ListenError } from '../../src/client/local-listener.js';
import { HostKeyRejectedError } from '../../src/errors.js';
import { Forwardings, startForwardings, type ForwardingLog } from '../../src/cli/ssh/forwardings.js';
import { runStdioForward } from '../../src/cli/ssh/stdio-forward.js';
import { parseForwardSpec } from '../../src/config/forward-spec.js';
import { CliExit } from '../../src/cli/common/exit.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;

let sshd: Sshd | undefined;
let key = '';
let keyPath = '';
let dir = '';
let echo: Server | undefined;
let echoPort = 0;
let echoPath = '';
let http: HttpServer | undefined;
let httpPort = 0;

before(async () => {
  if (!openssh) return;
  dir = tempDir('fwd');
  const k = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  key = readFileSync(k.privatePath, 'utf8');
  keyPath = k.privatePath;
  sshd = await startSshd(openssh, ['PermitRootLogin yes', 'AllowTcpForwarding yes', 'AllowStreamLocalForwarding yes', 'StreamLocalBindUnlink yes', 'MaxSessions 30', 'MaxStartups 30'], { authorizedKeys: k.publicLine + '\n' });
  echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
  echoPath = join(dir, 'echo.sock');
  const unixEcho = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => unixEcho.listen(echoPath, r));
  echo.once('close', () => unixEcho.close());
  http = createHttpServer((req, res) => res.end(`hello ${req.url} via ${req.headers.host}`));
  await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as { port: number }).port;
});

after(async () => {
  await sshd?.stop();
  echo?.close();
  http?.close();
});

function options(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  const hostKey = Buffer.from(sshd!.hostKeys.ed25519!.split(' ')[1]!, 'base64');
  return {
    host: '127.0.0.1',
    port: sshd!.port,
    username: user,
    privateKey: key,
    knownHosts: false,
    algorithms: { hostKey: ['ssh-ed25519'] },
    verifyHostKey: (info) => Buffer.from(info.key).equals(hostKey),
    ...extra,
  };
}

async function withClient<T>(fn: (c: Client) => Promise<T>, extra: Partial<ConnectOptions> = {}): Promise<T> {
  const c = await connect(options(extra));
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * Sends `text` on a new connection to `where`, ends it, and returns all that
 * came back. A connection closed at once may be reset (data unread on the
 * other side): with `resetIsClose`, that counts as closed.
 */
function roundTrip(where: { port: number } | { path: string }, text: string, resetIsClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = 'path' in where ? netConnect(where.path) : netConnect(where.port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.once('error', (err: Error & { code?: string }) => (resetIsClose && err.code === 'ECONNRESET' ? undefined : reject(err)));
    s.once('close', () => resolve(Buffer.concat(got).toString()));
    s.end(text);
  });
}

function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', '--max-time', '10', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A SOCKS client written by hand: sends `hello` bytes, reads `replyLength` bytes of reply. */
async function socksExchange(port: number, hello: Uint8Array, replyLength: number): Promise<{ socket: Socket; reply: Buffer }> {
  const socket = netConnect(port, '127.0.0.1');
  await new Promise((r, j) => socket.once('connect', r).once('error', j));
  socket.write(hello);
  const reply = await readBytes(socket, replyLength);
  return { socket, reply };
}

function readBytes(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= n) {
        socket.off('data', onData);
        socket.pause();
        if (buf.length > n) socket.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${buf.length} of ${n} bytes: ${buf.toString('hex')}`)));
    socket.resume();
  });
}

function socks5Connect(host: string, port: number): Buffer {
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([5, 1, 0]), Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 255])]);
}

function socks4aConnect(host: string, port: number): Buffer {
  return Buffer.concat([Buffer.from([4, 1, port >> 8, port & 255, 0, 0, 0, 1]), Buffer.from('nacre\0'), Buffer.from(host + '\0')]);
}

async function deadPort(): Promise<number> {
  return freePort();
}

test('-L over TCP, from a local Unix socket, and to a Unix socket on the server', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const tcp = await c.forwardLocal({ remoteHost: '127.0.0.1', remotePort: echoPort });
    assert.equal(await roundTrip({ port: tcp.port }, 'tcp to tcp'), 'tcp to tcp');
    const localPath = join(dir, 'local-l.sock');
    const fromSocket = await c.forwardLocal({ localPath, remoteHost: '127.0.0.1', remotePort: echoPort });
    assert.equal(fromSocket.localPath, localPath);
    assert.equal(statSync(localPath).mode & 0o777, 0o600);
    assert.equal(await roundTrip({ path: localPath }, 'socket to tcp'), 'socket to tcp');
    const toSocket = await c.forwardLocal({ localPort: 0, remotePath: echoPath });
    assert.equal(await roundTrip({ port: toSocket.port }, 'tcp to socket'), 'tcp to socket');
    // A dead target: that connection is closed, the forward and the connection go on.
    const refused: string[] = [];
    const toDead = await c.forwardLocal({ remoteHost: '127.0.0.1', remotePort: await deadPort(), onConnectError: (err) => refused.push(err.message) });
    assert.equal(await roundTrip({ port: toDead.port }, 'nobody there', true), '');
    assert.match(refused.join(), /channel open failed: .*\(code 2\)/);
    assert.equal(await roundTrip({ port: tcp.port }, 'still works'), 'still works');
    await toDead.close();
    await fromSocket.close();
    assert.ok(!existsSync(localPath), 'the socket file is removed on close');
    await tcp.close();
    await toSocket.close();
  });
});

test('-R with port 0 connects to a local port; -R on a server socket to a local socket and to a local port', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const tcp = await c.forwardRemote({ bindPort: 0, connectTo: { host: '127.0.0.1', port: echoPort } });
    assert.ok(tcp.port > 0);
    assert.equal(await roundTrip({ port: tcp.port }, 'reverse tcp'), 'reverse tcp');
    const remotePath = join(dir, 'remote-r.sock');
    const sock = await c.forwardRemote({ remotePath, connectTo: { path: echoPath } });
    assert.equal(sock.remotePath, remotePath);
    assert.equal(await roundTrip({ path: remotePath }, 'reverse socket to socket'), 'reverse socket to socket');
    await sock.close();
    const remotePath2 = join(dir, 'remote-r2.sock');
    const sockToTcp = await c.forwardRemote({ remotePath: remotePath2, connectTo: { host: '127.0.0.1', port: echoPort } });
    assert.equal(await roundTrip({ path: remotePath2 }, 'reverse socket to tcp'), 'reverse socket to tcp');
    await sockToTcp.close();
    await tcp.close();
    // Cancelled on the server: nobody listens there any more.
    await assert.rejects(roundTrip({ port: tcp.port }, 'x'), /ECONNREFUSED/);
  });
});

test('-R to a dead local port closes just that channel and reports it', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const errors: string[] = [];
    const dead = await deadPort();
    const fwd = await c.forwardRemote({ bindPort: 0, connectTo: { host: '127.0.0.1', port: dead }, onConnectError: (err) => errors.push(err.message) });
    assert.equal(await roundTrip({ port: fwd.port }, 'nobody', true), '');
    assert.match(errors.join(), /ECONNREFUSED/);
    assert.equal((await c.exec('echo still up')).stdout, 'still up\n');
    await fwd.close();
  });
});

test('-D: curl --socks5-hostname and --socks4a, names resolved by the server', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const d = await c.forwardDynamic();
    const five = await curl(['--socks5-hostname', `127.0.0.1:${d.port}`, `http://localhost:${httpPort}/five`]);
    assert.equal(five.stdout, `hello /five via localhost:${httpPort}`, five.stderr);
    const fourA = await curl(['--socks4a', `127.0.0.1:${d.port}`, `http://localhost:${httpPort}/four`]);
    assert.equal(fourA.stdout, `hello /four via localhost:${httpPort}`, fourA.stderr);
    const four = await curl(['--socks4', `127.0.0.1:${d.port}`, `http://127.0.0.1:${httpPort}/plain`]);
    assert.equal(four.stdout, `hello /plain via 127.0.0.1:${httpPort}`, four.stderr);
    await d.close();
  });
});

test('-D with hand-written SOCKS 4a and 5 clients; garbage and a dead target get errors without harming the rest', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const dropped: string[] = [];
    const d = await c.forwardDynamic({ onError: (err) => dropped.push(err.message) });
    // A connection that stays open through all that follows.
    const { socket: kept, reply: keptReply } = await socksExchange(d.port, socks5Connect('127.0.0.1', echoPort), 2 + 10);
    assert.deepEqual([...keptReply.subarray(0, 2)], [5, 0]);
    assert.equal(keptReply[2 + 1], 0, 'SOCKS 5 success');

    const { socket: s4, reply: r4 } = await socksExchange(d.port, socks4aConnect('localhost', echoPort), 8);
    assert.equal(r4[1], 0x5a);
    s4.end('four-a');
    assert.equal((await readBytes(s4, 6)).toString(), 'four-a');

    // Garbage: dropped, with nothing or an error reply, and the rest works on.
    const garbage = netConnect(d.port, '127.0.0.1');
    const garbageClosed = new Promise((r) => garbage.once('close', r));
    garbage.on('data', () => undefined);
    garbage.on('error', () => undefined);
    garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await garbageClosed;
    const { reply: bindReply, socket: bindSocket } = await socksExchange(d.port, Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]), 2 + 10);
    assert.equal(bindReply[3], 7, 'BIND is "command not supported"');
    bindSocket.destroy();

    // A dead target: SOCKS 5 "connection refused", SOCKS 4 "rejected".
    const dead = await deadPort();
    const { reply: deadReply, socket: deadSocket } = await socksExchange(d.port, socks5Connect('127.0.0.1', dead), 2 + 10);
    assert.equal(deadReply[3], 5, `reply ${deadReply.toString('hex')}`);
    deadSocket.destroy();
    const { reply: dead4, socket: dead4Socket } = await socksExchange(d.port, socks4aConnect('127.0.0.1', dead), 8);
    assert.equal(dead4[1], 0x5b);
    dead4Socket.destroy();
    assert.ok(dropped.length >= 3, dropped.join('; '));

    kept.end('still here');
    assert.equal((await readBytes(kept, 10)).toString(), 'still here');
    await d.close();
  });
});

test('remote dynamic forwarding (-R port alone): SOCKS served by the client', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const fwd = await c.forwardRemote({ bindPort: 0, connectTo: 'socks' });
    const { socket, reply } = await socksExchange(fwd.port, socks5Connect('127.0.0.1', echoPort), 12);
    assert.equal(reply[3], 0);
    socket.end('remote socks');
    assert.equal((await readBytes(socket, 12)).toString(), 'remote socks');
    const curled = await curl(['--socks5-hostname', `127.0.0.1:${fwd.port}`, `http://localhost:${httpPort}/rd`]);
    assert.equal(curled.stdout, `hello /rd via localhost:${httpPort}`, curled.stderr);
    await fwd.close();
  });
});

test('permitRemoteOpen (PermitRemoteOpen): the remote dynamic forward connects only where it allows; others get SOCKS "not allowed"', { skip, timeout: 30000 }, async () => {
  for (const [permit, allowed] of [
    [[`127.0.0.1:${echoPort}`], true],
    [[`*:${echoPort}`], true],
    [['127.0.0.1:*'], true],
    [['127.0.0.1:1', `localhost:${echoPort}`], false],
    [['none'], false],
    [['any'], true],
  ] as const) {
    const refusals: Error[] = [];
    await withClient(
      async (c) => {
        const fwd = await c.forwardRemote({ bindPort: 0, connectTo: 'socks', onConnectError: (err) => refusals.push(err) });
        const { socket, reply } = await socksExchange(fwd.port, socks5Connect('127.0.0.1', echoPort), 12);
        if (allowed) {
          assert.equal(reply[3], 0, `${permit.join(' ')}: reply ${reply.toString('hex')}`);
          socket.end('permitted');
          assert.equal((await readBytes(socket, 9)).toString(), 'permitted');
        } else {
          assert.equal(reply[3], 2, `${permit.join(' ')}: SOCKS 5 "connection not allowed by ruleset", reply ${reply.toString('hex')}`);
          socket.destroy();
          assert.match(refusals.map((e) => e.message).join('; '), new RegExp(`PermitRemoteOpen does not allow 127\\.0\\.0\\.1:${echoPort}`));
        }
        await fwd.close();
      },
      { permitRemoteOpen: permit },
    );
  }
  await assert.rejects(connect(options({ permitRemoteOpen: ['nohost'] })), (e: unknown) => e instanceof RangeError && /bad port number/.test(e.message));
});

test('-W: stdin and stdout relayed to a port and to a socket', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const log = collectLog();
    for (const to of [{ kind: 'tcp' as const, host: '127.0.0.1', port: echoPort }, { kind: 'unix' as const, path: echoPath }]) {
      const input = new PassThrough();
      const output = new PassThrough();
      const got: Buffer[] = [];
      output.on('data', (d: Buffer) => got.push(d));
      const done = runStdioForward(c, to, input, output, log);
      input.end('stdio forward');
      assert.equal(await done, 0);
      assert.equal(Buffer.concat(got).toString(), 'stdio forward');
    }
    const dead = await deadPort();
    assert.equal(await runStdioForward(c, { kind: 'tcp', host: '127.0.0.1', port: dead }, new PassThrough(), new PassThrough(), log), 255);
    assert.match(log.lines.join('\n'), /stdio forwarding failed/);
  });
});

test('-W as OpenSSH\'s ProxyCommand: ssh reaches sshd through our stdio forward', { skip, timeout: 30000 }, async () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'stdio-forward-main.js');
  const proxy = `'${process.execPath}' ${main} ${sshd!.port} ${keyPath} ${user} %h %p`;
  const r = await runSsh(openssh!, ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', `ProxyCommand=${proxy}`, '-p', String(sshd!.port), `${user}@127.0.0.1`, 'echo ssh over nacre -W']);
  assert.equal(r.stdout, 'ssh over nacre -W\n', r.stderr);
  assert.equal(r.code, 0);
});

/** The client ports of the logins sshd accepted after log offset `from`. */
function acceptedPorts(from: number): string[] {
  return [...sshd!.log().slice(from).matchAll(/Accepted publickey for \S+ from 127\.0\.0\.1 port (\d+)/g)].map((m) => m[1]!);
}

/** Whether sshd saw the connection from client port `port` end. */
function connectionEnded(port: string): boolean {
  return new RegExp(`(Connection closed by|Disconnected from user \\S+|Received disconnect from) 127\\.0\\.0\\.1 port ${port}\\b`).test(sshd!.log());
}

test('proxyJump through two hops (the same sshd three times); closing the client closes the hops', { skip, timeout: 60000 }, async () => {
  const from = sshd!.log().length;
  // Every hop's host key goes through the same check as the target's.
  const checked: string[] = [];
  const check = options().verifyHostKey!;
  // (The last hop is named `localhost`: a last hop equal to the target itself is ssh's "jumphost loop".)
  const c = await connect(options({ proxyJump: `${user}@127.0.0.1:${sshd!.port},ssh://${user}@localhost:${sshd!.port}`, verifyHostKey: (info) => (checked.push(`${info.host}:${info.port}`), check(info)) }));
  assert.equal((await c.exec('echo through two hops')).stdout, 'through two hops\n');
  assert.deepEqual(checked, [`127.0.0.1:${sshd!.port}`, `localhost:${sshd!.port}`, `127.0.0.1:${sshd!.port}`]);
  await assert.rejects(connect(options({ proxyJump: `${user}@127.0.0.1:${sshd!.port}` })), /jumphost loop via 127\.0\.0\.1/);
  // A hop whose key is refused stops the chain there.
  await assert.rejects(connect(options({ proxyJump: `localhost:${sshd!.port}`, verifyHostKey: () => false })), (err: unknown) => err instanceof HostKeyRejectedError);
  const ports = acceptedPorts(from);
  assert.equal(ports.length, 3, 'the two hops and the target each logged in');
  assert.ok(!ports.some(connectionEnded));
  await c.close();
  // The hops' own connections end with the client's.
  for (let i = 0; i < 100 && !ports.every(connectionEnded); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ports.every(connectionEnded), sshd!.log().slice(from).slice(-3000));
  // As a list of options, and 'none'.
  const d = await connect(options({ proxyJump: [options()] }));
  assert.equal((await d.exec('echo listed')).stdout, 'listed\n');
  await d.close();
  const e = await connect(options({ proxyJump: 'none' }));
  await e.close();
  await assert.rejects(connect(options({ proxyJump: 'a@@:x' })), /ProxyJump/);
});

test('proxyJump from ssh_config: each hop reads its own Host entry; the first hop\'s own ProxyJump chains, as in ssh', { skip, timeout: 30000 }, async () => {
  const file = join(dir, 'ssh_config');
  writeFileSync(
    file,
    [
      'Host bastion bastion2',
      '  HostName 127.0.0.1',
      `  Port ${sshd!.port}`,
      `  User ${user}`,
      // bastion2, the first hop of `inside`, is itself reached through bastion.
      'Host bastion2',
      '  ProxyJump bastion',
      'Host inside',
      '  HostName 127.0.0.1',
      `  Port ${sshd!.port}`,
      '  ProxyJump bastion2',
      // Every hop jumping through bastion again, bastion included: ssh would start itself without end.
      'Host looping',
      '  HostName 127.0.0.1',
      `  Port ${sshd!.port}`,
      '  ProxyJump ring',
      'Host ring',
      '  HostName 127.0.0.1',
      `  Port ${sshd!.port}`,
      '  ProxyJump ring',
      '',
    ].join('\n'),
  );
  const from = sshd!.log().length;
  const { host: _h, port: _p, ...rest } = options();
  const c = await connect({ ...rest, host: 'inside', config: file });
  assert.equal((await c.exec('echo inside')).stdout, 'inside\n');
  assert.equal(acceptedPorts(from).length, 3, 'the two bastions (the second reached at its HostName and Port) and the target');
  await c.close();
  await assert.rejects(connect({ ...rest, host: 'looping', config: file }), /more than 16 hops/);
});

test('proxyCommand: SSH over a relay command with %h %p; a failing command is named', { skip, timeout: 30000 }, async () => {
  const relay = `const s=require('net').connect(Number(process.argv[1]),process.argv[2]);process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0))`;
  const pidFile = join(dir, 'proxy.pid');
  const c = await connect(options({ host: '127.0.0.1', proxyCommand: `echo $$ > ${pidFile}; exec '${process.execPath}' -e "${relay}" %p %h` }));
  assert.equal((await c.exec('echo via proxy command')).stdout, 'via proxy command\n');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive());
  await c.close();
  // The command ends with the connection.
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!alive(), 'the proxy command was stopped');
  // ssh -W as the proxy command (what -J does under the hood in OpenSSH).
  const viaSsh = `${openssh!.ssh} -F none -i ${keyPath} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p %p -W %h:%p %r@%h`;
  const d = await connect(options({ proxyCommand: viaSsh }));
  assert.equal((await d.exec('echo via ssh -W')).stdout, 'via ssh -W\n');
  await d.close();
  await assert.rejects(connect(options({ proxyCommand: 'exit 3', readyTimeout: 5000 })), /exit|status 3|closed|lost/i);
  await assert.rejects(connect(options({ proxyCommand: 'nc %z' })), /unknown token %z/);
});

test('localAddress, family and connectionAttempts reach the TCP connection', { skip, timeout: 30000 }, async () => {
  const c = await connect(options({ localAddress: '127.0.0.1', family: 4, connectionAttempts: 2 }));
  assert.equal((await c.exec('echo $SSH_CLIENT')).stdout.split(' ')[0], '127.0.0.1');
  await c.close();
  const dead = await deadPort();
  const started = Date.now();
  await assert.rejects(connect(options({ port: dead, connectionAttempts: 2 })), /ECONNREFUSED/);
  assert.ok(Date.now() - started >= 900, 'a second attempt one second later');
  await assert.rejects(connect(options({ connectionAttempts: 0 })), RangeError);
});

function collectLog(): ForwardingLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    error: (m) => lines.push(m),
    info: (m) => lines.push(m),
    debug: (depth, m) => lines.push(`debug${depth}: ${m}`),
  };
}

test('nacre forwardings: -R 0 reports the allocated port; -L, -D and ~C add, list and cancel', { skip, timeout: 30000 }, async () => {
  await withClient(async (c) => {
    const log = collectLog();
    const lport = await freePort();
    const f = await startForwardings(c, [parseForwardSpec(`${lport}:127.0.0.1:${echoPort}`, 'local'), parseForwardSpec(`0:127.0.0.1:${echoPort}`, 'remote')], log);
    const allocated = /Allocated port (\d+) for remote forward to 127\.0\.0\.1:(\d+)/.exec(log.lines.join('\n'));
    assert.ok(allocated, log.lines.join('\n'));
    assert.equal(Number(allocated[2]), echoPort);
    assert.equal(await roundTrip({ port: Number(allocated[1]) }, 'via -R 0'), 'via -R 0');
    assert.equal(await roundTrip({ port: lport }, 'via -L'), 'via -L');
    // Bound on both loopback addresses, as ssh binds "localhost".
    const v6 = await new Promise<string>((resolve, reject) => {
      const s = netConnect(lport, '::1');
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.once('error', reject);
      s.once('close', () => resolve(Buffer.concat(got).toString()));
      s.end('via [::1]');
    });
    assert.equal(v6, 'via [::1]');

    const dport = await freePort();
    assert.equal(await f.command(`-D ${dport}`), 'Forwarding port.');
    const curled = await curl(['--socks5-hostname', `127.0.0.1:${dport}`, `http://localhost:${httpPort}/c`]);
    assert.equal(curled.stdout, `hello /c via localhost:${httpPort}`);
    assert.equal(f.list().length, 3);
    assert.match(f.list().join('\n'), new RegExp(`-D localhost:${dport} -> socks`));
    assert.equal(await f.command(`-KD ${dport}`), 'Canceled forwarding.');
    await assert.rejects(roundTrip({ port: dport }, 'x'), /ECONNREFUSED/);
    assert.equal(await f.command(`-KL 1`), 'Unknown port forwarding.');
    assert.equal(await f.command('-L nonsense'), 'Bad forwarding specification.');
    assert.equal(await f.command('xyz'), 'Invalid command.');
    assert.match(await f.command('?'), /^Commands:\n.*-L\[bind_address:\]port:host:hostport/);
    assert.equal(await f.command('-h'), await f.command(' H'));
    assert.equal(await f.command('-'), '');
    assert.equal(await f.command('-X 1'), 'Invalid command.');
    assert.equal(await f.command(`-KR ${allocated[1]}`), 'Canceled forwarding.');
    assert.equal(await f.command(`KL${lport}`), 'Canceled forwarding.');
    assert.deepEqual(f.list(), []);
  });
});

test('a local port already in use: a clear error, a warning, or with ExitOnForwardFailure exit 255', { skip, timeout: 30000 }, async () => {
  // Taken on every address, both loopbacks included (ssh would take either alone).
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, r));
  const port = (busy.address() as { port: number }).port;
  try {
    await withClient(async (c) => {
      await assert.rejects(c.forwardLocal({ localPort: port, remoteHost: '127.0.0.1', remotePort: echoPort }), (err: unknown) => err instanceof ListenError && err.code === 'EADDRINUSE' && err.message === `cannot listen on 127.0.0.1:${port}: address already in use`);
      const log = collectLog();
      const spec = parseForwardSpec(`${port}:127.0.0.1:${echoPort}`, 'local');
      await new Forwardings(c, log).startAll([spec]);
      assert.deepEqual(log.lines.filter((l) => !l.startsWith('debug')), [`bind [127.0.0.1]:${port}: Address already in use\nchannel_setup_fwd_listener_tcpip: cannot listen to port: ${port}`, 'Could not request local forwarding.']);
      const strict = collectLog();
      await assert.rejects(startForwardings(c, [parseForwardSpec(`0:127.0.0.1:${echoPort}`, 'remote'), spec], strict, { exitOnForwardFailure: true }), (err: unknown) => err instanceof CliExit && err.code === 255 && err.message === 'Could not request local forwarding.');
      // A remote port the server cannot bind (already taken there): ssh's warning, or its fatal error.
      const remoteLog = collectLog();
      await startForwardings(c, [parseForwardSpec(`127.0.0.1:${port}:127.0.0.1:${echoPort}`, 'remote')], remoteLog);
      assert.deepEqual(remoteLog.lines.filter((l) => !l.startsWith('debug')), [`Warning: remote port forwarding failed for listen port ${port}`]);
      await assert.rejects(startForwardings(c, [parseForwardSpec(`127.0.0.1:${port}:127.0.0.1:${echoPort}`, 'remote')], collectLog(), { exitOnForwardFailure: true }), (err: unknown) => err instanceof CliExit && err.code === 255 && err.message === `Error: remote port forwarding failed for listen port ${port}`);
    });
  } finally {
    busy.close();
  }
});
