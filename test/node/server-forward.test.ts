// Forwarding on createServer: direct-tcpip, tcpip-forward, streamlocal, each refused by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as netCreateServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalForwardRequest, RemoteForwardRequest } from '../../src/server/forwarding.js';
import { startServer, passwordSecret, echoServer, roundTrip, delay } from './server-helpers.js';

test('direct-tcpip: refused without forwardLocal, piped with it', async () => {
  const echo = await echoServer();
  let allow = false;
  const seen: LocalForwardRequest[] = [];
  const t = await startServer({ authenticate: passwordSecret });
  const t2 = await startServer({
    authenticate: passwordSecret,
    forwardLocal: async (req) => {
      seen.push(req);
      return allow;
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.openDirectTcpip({ host: '127.0.0.1', port: echo.port }), /open failed/);
    const c2 = await t2.connect({ password: 'secret' });
    await assert.rejects(c2.openDirectTcpip({ host: '127.0.0.1', port: echo.port }));
    allow = true;
    const ch = await c2.openDirectTcpip({ host: '127.0.0.1', port: echo.port, originatorAddress: '10.1.2.3', originatorPort: 4567 });
    const payload = Buffer.alloc(300_000, 7);
    assert.ok((await roundTrip(ch, payload)).equals(payload));
    // The request also names the SSH connection it came on (for per-address policy such as sshd's Match Address).
    const { remoteAddress, remotePort, localAddress, localPort, ...asked } = seen[1] as LocalForwardRequest;
    assert.deepEqual(asked, { host: '127.0.0.1', port: echo.port, originatorAddress: '10.1.2.3', originatorPort: 4567, username: 'alice' });
    assert.equal(remoteAddress, '127.0.0.1');
    assert.equal(localAddress, '127.0.0.1');
    assert.ok(remotePort! > 0 && localPort! > 0);
    // A closed port is a connect failure, not a hang.
    const closed = await echoServer();
    await closed.close();
    await assert.rejects(c2.openDirectTcpip({ host: '127.0.0.1', port: closed.port }));
  } finally {
    await t.close();
    await t2.close();
    await echo.close();
  }
});

test('tcpip-forward: the server listens, reports the port, forwards back, cancels', async () => {
  const seen: RemoteForwardRequest[] = [];
  const t = await startServer({
    authenticate: passwordSecret,
    forwardRemote: (req) => {
      seen.push(req);
      return true;
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const fwd = await c.forwardRemote({
      bindAddress: '127.0.0.1',
      bindPort: 0,
      onConnection: (conn) => {
        // The client side echoes in upper case.
        conn.channel.on('data', (d: Buffer) => conn.channel.write(d.toString().toUpperCase()));
        conn.channel.on('end', () => conn.channel.end());
      },
    });
    assert.ok(fwd.port > 0);
    assert.deepEqual(
      seen.map(({ bindAddress, bindPort, username }) => ({ bindAddress, bindPort, username })),
      [{ bindAddress: '127.0.0.1', bindPort: 0, username: 'alice' }],
    );
    assert.equal(seen[0]!.remoteAddress, '127.0.0.1');
    const sock = netConnect(fwd.port, '127.0.0.1');
    assert.equal((await roundTrip(sock, 'hello')).toString(), 'HELLO');
    await fwd.close();
    await delay(50);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = netConnect(fwd.port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(null);
        });
        s.once('error', reject);
      }),
    );
  } finally {
    await t.close();
  }
});

test('tcpip-forward is refused by default, and listeners close with the connection', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  const t2 = await startServer({ authenticate: passwordSecret, forwardRemote: () => true });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.forwardRemote({ bindPort: 0 }));
    const c2 = await t2.connect({ password: 'secret' });
    const fwd = await c2.forwardRemote({ bindPort: 0, onConnection: (conn) => conn.channel.end() });
    await c2.close();
    await delay(50);
    const refused = await new Promise<boolean>((resolve) => {
      const s = netConnect(fwd.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, 'the listener is gone with the connection');
  } finally {
    await t.close();
    await t2.close();
  }
});

test('direct-streamlocal: connects to a Unix socket when allowed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-srv-'));
  const path = join(dir, 'echo.sock');
  const sockets: Socket[] = [];
  const unix = netCreateServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.pipe(s);
  });
  await new Promise<void>((r) => unix.listen(path, r));
  const paths: string[] = [];
  const t = await startServer({
    authenticate: passwordSecret,
    forwardStreamlocal: (req) => {
      paths.push(`${req.listen ? 'listen' : 'connect'}:${req.socketPath}`);
      return !req.listen;
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.openDirectStreamlocal(path);
    assert.equal((await roundTrip(ch, 'over unix')).toString(), 'over unix');
    assert.deepEqual(paths, [`connect:${path}`]);
  } finally {
    await t.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => unix.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('direct-tcpip: data, EOF and CLOSE right behind each other all reach a slow target, whose socket is then closed', { timeout: 20_000 }, async () => {
  const size = 8 * 1024 * 1024;
  let received = 0;
  let targetClosed = false;
  const done = new Promise<void>((resolve) => {
    const target = netCreateServer({ allowHalfOpen: true }, (sock: Socket) => {
      sock.on('error', () => undefined);
      // A slow reader: the socket's buffers fill while the channel closes.
      sock.pause();
      setTimeout(() => sock.resume(), 300);
      sock.on('data', (d: Buffer) => (received += d.length));
      sock.on('end', () => sock.end());
      sock.on('close', () => {
        targetClosed = true;
        target.close();
        resolve();
      });
    });
    target.listen(0, '127.0.0.1', () => {
      const port = (target.address() as { port: number }).port;
      void (async () => {
        const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
        try {
          const c = await t.connect({ password: 'secret' });
          const ch = await c.openDirectTcpip({ host: '127.0.0.1', port });
          ch.end(Buffer.alloc(size, 1));
          await new Promise<void>((r) => ch.once('finish', () => r()));
          ch.destroy(); // CLOSE right after the EOF
          await done;
        } finally {
          await t.close();
        }
      })();
    });
  });
  await done;
  await delay(50);
  assert.equal(received, size);
  assert.ok(targetClosed);
});
