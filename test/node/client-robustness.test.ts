// The client library when the server or the network misbehaves: nothing may
// throw into the user's process, and no promise of the public API may stay
// pending once its connection is gone. (An uncaught exception or unhandled
// rejection fails the test that caused it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as netCreateServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { AuthenticationError, NacreError } from '../../src/errors.js';
import { UnknownAlgorithmError } from '../../src/index.js';
import { UserauthBanner } from '../../src/messages/userauth.js';
import { startServer, passwordSecret, delay, echoServer, roundTrip } from './server-helpers.js';

test("the server's output and CLOSE in one read: ending stdin, resizing, signalling or writing from a 'data' handler is harmless", async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        setTimeout(() => {
          ch.write('ready\n');
          ch.exit(0);
        }, 20);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    for (let i = 0; i < 10; i++) {
      const p = await c.spawn('prompt');
      const requests: Promise<void>[] = [];
      p.stdout.on('data', () => {
        requests.push(p.resize(100, 40), p.signal('INT'));
        p.stdin.write('answer\n');
        p.stdin.end();
      });
      assert.deepEqual(await p.exit, { code: 0, signal: null });
      // Requests on a channel that is gone are dropped instead of rejecting.
      await Promise.all(requests);
      // Writing after the exit is dropped, not an 'error' event.
      p.stdin.write('late\n');
      await delay(10);
    }
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('forwardLocal: a local connection reset while its channel is being opened is no uncaught error', async () => {
  let opens = 0;
  const t = await startServer({
    authenticate: passwordSecret,
    forwardLocal: async () => {
      opens++;
      await delay(150); // the server takes its time to approve
      return true;
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const echo = await echoServer();
    const fwd = await c.forwardLocal({ remoteHost: '127.0.0.1', remotePort: echo.port });
    await new Promise<void>((resolve) => {
      const s = netConnect(fwd.port, '127.0.0.1', () => {
        s.write('hello');
        setTimeout(() => s.resetAndDestroy(), 20);
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    await delay(300); // the open is approved after the reset
    assert.equal(opens, 1);
    // The forward still works for the next connection.
    assert.equal((await roundTrip(netConnect(fwd.port, '127.0.0.1'), 'again')).toString(), 'again');
    await fwd.close();
    await echo.close();
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('forwardRemote: iterating the forward ends when the connection closes', async () => {
  const t = await startServer({ authenticate: passwordSecret, forwardRemote: () => true });
  const c = await t.connect({ password: 'secret' });
  const fwd = await c.forwardRemote({ bindPort: 0 });
  const seen: number[] = [];
  const loop = (async () => {
    for await (const conn of fwd) {
      seen.push(conn.connectedPort);
      conn.channel.destroy();
    }
    return 'ended';
  })();
  await t.server.close(); // the server goes away
  await c.closed;
  assert.equal(await Promise.race([loop, delay(2000).then(() => 'still pending')]), 'ended');
  assert.deepEqual(seen, []);
});

test('banners: every one reaches the listeners, but the client keeps only the first 64 KiB of them', async () => {
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method === 'none') {
        // Flood the client with banners before it may log in.
        const conn = [...t.server.connections][0]!;
        for (let i = 0; i < 200; i++) conn.node.endpoint.transport.send(conn.node.now(), UserauthBanner.encode({ message: 'b'.repeat(1024), language: '' }));
        conn.node.run();
        return false;
      }
      return ctx.method === 'password' && ctx.password === 'secret';
    },
  });
  try {
    let heard = 0;
    const c = await t.connect({ password: 'secret', onBanner: () => heard++ });
    assert.equal(heard, 200);
    assert.equal(c.banners.length, 64);
    assert.ok(c.banners.join('').length <= 64 * 1024);
  } finally {
    await t.close();
  }
});

test('exec with an AbortSignal: aborted before, while the channel opens, or while it runs, it rejects with AbortError', async () => {
  let runs = 0;
  let holdExec: (() => void) | null = null;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = async (cmd, ch) => {
        if (cmd === 'slow-start') await new Promise<void>((r) => (holdExec = r));
        runs++;
        if (cmd !== 'forever') ch.exit(0);
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.exec('x', { signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(runs, 0, 'an aborted signal runs nothing');

    const early = new AbortController();
    const pending = c.exec('slow-start', { signal: early.signal });
    await delay(50);
    early.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    holdExec!();

    const running = new AbortController();
    const forever = c.exec('forever', { signal: running.signal });
    await delay(50);
    running.abort();
    await assert.rejects(forever, { name: 'AbortError' });
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('connect: options that cannot work fail before any TCP connection is made', async () => {
  let accepted = 0;
  const listener = netCreateServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const port = (listener.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'nacre-kh-'));
  try {
    await assert.rejects(connect({ host: '127.0.0.1', port, username: 'u', password: 'p', knownHosts: dir }));
    await assert.rejects(connect({ host: '127.0.0.1', port, username: 'u', password: 'p', verifyHostKey: () => true, algorithms: { cipher: ['no-such-cipher'] } }), /no-such-cipher/);
    await delay(50);
    assert.equal(accepted, 0);
  } finally {
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec rejects with the connection error when the connection dies mid-command', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = () => {
        setTimeout(() => [...t.server.connections][0]?.node.disconnect(11, 'going away'), 50);
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.exec('hang'), (e: unknown) => e instanceof NacreError && e.name === 'DisconnectError' && /going away/.test(e.message));
  } finally {
    await t.close();
  }
});

test('a server that disconnects during authentication is an AuthenticationError, with the DISCONNECT as cause', async () => {
  const t = await startServer({ authenticate: passwordSecret, auth: { maxAttempts: 1, failureDelayMs: 0 } });
  try {
    await assert.rejects(t.connect({ password: 'wrong' }), (e: unknown) => {
      assert.ok(e instanceof AuthenticationError, String(e));
      assert.equal(e.tried.length, 1); // the one attempt the server allowed
      assert.ok(e.cause instanceof NacreError && e.cause.name === 'DisconnectError');
      return true;
    });
  } finally {
    await t.close();
  }
});

test('a refusing or throwing verifyHostKey is named in the error; an unknown algorithm name is a NacreError', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  try {
    await assert.rejects(t.connect({ password: 'secret', verifyHostKey: () => false }), /was rejected by verifyHostKey/);
    const boom = new Error('lookup failed');
    await assert.rejects(t.connect({ password: 'secret', verifyHostKey: () => Promise.reject(boom) }), (e: unknown) => e instanceof NacreError && /verifyHostKey threw/.test(e.message) && e.cause === boom);
    await assert.rejects(t.connect({ password: 'secret', algorithms: { cipher: ['nonsense-cipher'] } }), (e: unknown) => e instanceof UnknownAlgorithmError && e instanceof NacreError);
  } finally {
    await t.close();
  }
});

test('a closed server can listen again, like net.Server', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  await t.close();
  const { port } = await t.server.listen(0, '127.0.0.1');
  try {
    const c = await connect({ host: '127.0.0.1', port, username: 'alice', password: 'secret', verifyHostKey: () => true, keepalive: false });
    assert.equal(c.node.error, null); // it got through key exchange and login, not "shutting down"
    await c.close();
  } finally {
    await t.server.close();
  }
});

test('forwardLocal: a closed forward leaves no listener on the client', async () => {
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  try {
    const c = await t.connect({ password: 'secret' });
    const before = c.listenerCount('close');
    for (let i = 0; i < 20; i++) await (await c.forwardLocal({ remoteHost: '127.0.0.1', remotePort: 9 })).close();
    assert.equal(c.listenerCount('close'), before);
  } finally {
    await t.close();
  }
});
