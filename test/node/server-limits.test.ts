// createServer's limits and robustness: maxConnections, maxUnauthenticated and
// maxStartups' hard limit (server-startups.test.ts has the rest), maxSessions,
// garbage from a client, close(), handleConnection over any Duplex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { Duplex } from 'node:stream';
import { DisconnectReason, NacreError } from '../../src/errors.js';
import { connect, type Client } from '../../src/client/client.js';
import { OpenFailureReason } from '../../src/messages/connection.js';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import type { Channel } from '../../src/io/node/channel.js';
import { startServer, passwordSecret, delay, testHostKey } from './server-helpers.js';
import { createServer, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_UNAUTHENTICATED } from '../../src/server/server.js';

test('maxConnections: the next client is told TOO_MANY_CONNECTIONS', async () => {
  const t = await startServer({ authenticate: passwordSecret, maxConnections: 1 });
  const refused: string[] = [];
  t.server.on('refused', (_info, why) => refused.push(why));
  try {
    const first = await t.connect({ password: 'secret' });
    const err = await t.connect({ password: 'secret' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NacreError, String(err));
    assert.equal(err.reason, DisconnectReason.TOO_MANY_CONNECTIONS);
    assert.deepEqual(refused, ['too many connections']);
    await first.close();
    await delay(50);
    const again = await t.connect({ password: 'secret' });
    await again.close();
  } finally {
    await t.close();
  }
});

test('maxUnauthenticated counts only connections still logging in', async () => {
  const t = await startServer({ authenticate: passwordSecret, maxUnauthenticated: 1 });
  try {
    const a = await t.connect({ password: 'secret' }); // authenticated: not counted
    const idle = netConnect(t.port, '127.0.0.1'); // sits in the version exchange
    await new Promise((r) => idle.once('data', r));
    const err = await t.connect({ password: 'secret' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NacreError);
    assert.equal(err.reason, DisconnectReason.TOO_MANY_CONNECTIONS);
    idle.destroy();
    await a.close();
  } finally {
    await t.close();
  }
});

test('maxStartups: full (default 100, sshd\'s) is a hard limit', async () => {
  // No per-source limit, and a random that never drops before full.
  const t = await startServer({ authenticate: passwordSecret, maxStartupsPerSource: Infinity, earlyDropRandom: () => 0.9999 });
  const refused: string[] = [];
  t.server.on('refused', (_info, why) => refused.push(why));
  const idle = Array.from({ length: DEFAULT_MAX_UNAUTHENTICATED }, () => netConnect(t.port, '127.0.0.1'));
  try {
    await Promise.all(idle.map((s) => new Promise((r) => s.once('data', r))));
    const err = await t.connect({ password: 'secret' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NacreError);
    assert.equal(err.reason, DisconnectReason.TOO_MANY_CONNECTIONS);
    assert.deepEqual(refused, ['too many unauthenticated connections']);
  } finally {
    for (const s of idle) s.destroy();
    await t.close();
  }
});

/** Opens a session channel and pushes it on `keep`; resolves with the refusal, or null once open. */
async function openSession(c: Client, keep: Channel[]): Promise<ChannelOpenError | null> {
  try {
    keep.push(await c.node.openChannel('session'));
    return null;
  } catch (e) {
    assert.ok(e instanceof ChannelOpenError, String(e));
    return e;
  }
}

test('maxSessions: an 11th session channel is refused with RESOURCE_SHORTAGE and a reason, until one closes', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: () => undefined });
  try {
    const c = await t.connect({ password: 'secret' });
    const open: Channel[] = [];
    for (let i = 0; i < DEFAULT_MAX_SESSIONS; i++) assert.equal(await openSession(c, open), null);
    const refused = await openSession(c, open);
    assert.equal(refused?.openReason, OpenFailureReason.RESOURCE_SHORTAGE);
    assert.match(refused.message, /too many sessions \(at most 10 on one connection\)/);
    // Closing one frees its place, and only its.
    open[3]!.destroy();
    await delay(100);
    assert.equal(await openSession(c, open), null);
    assert.ok((await openSession(c, open)) instanceof ChannelOpenError);
  } finally {
    await t.close();
  }
});

test('maxSessions overrides the default; a closed session frees its place for exec', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    maxSessions: 2,
    session: (s) => {
      s.onExec = (cmd, ch) => ch.exit(Number(cmd));
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const open: Channel[] = [];
    assert.equal(await openSession(c, open), null);
    assert.equal(await openSession(c, open), null);
    await assert.rejects(c.exec('0'), /too many sessions \(at most 2/);
    open[0]!.destroy();
    await delay(100);
    assert.equal((await c.exec('5')).code, 5);
    // exec's own session closed when it finished.
    assert.equal((await c.exec('6')).code, 6);
  } finally {
    await t.close();
  }
});

test('garbage from a client ends only that connection, reported as events', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  const errors: Error[] = [];
  const disconnects: (NacreError | null)[] = [];
  t.server.on('error', (e) => errors.push(e));
  t.server.on('disconnect', (_c, e) => disconnects.push(e));
  try {
    const good = await t.connect({ password: 'secret' });
    const bad = netConnect(t.port, '127.0.0.1');
    bad.on('error', () => undefined);
    bad.resume();
    await new Promise((r) => bad.once('connect', r));
    bad.write('SSH-2.0-evil\r\n');
    bad.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]));
    await new Promise((r) => bad.once('close', r));
    assert.equal(disconnects.length, 1);
    assert.equal(errors.length, 1, 'a protocol error is reported');
    // the good connection is unaffected
    assert.equal(good.node.error, null);
    await good.close();
  } finally {
    await t.close();
  }
});

test('without an error listener, a bad client cannot crash the server', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  try {
    for (const junk of ['GET / HTTP/1.1\r\n\r\n', 'SSH-1.5-old\r\n', 'SSH-2.0-x\r\n' + '\0'.repeat(64)]) {
      const s = netConnect(t.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      s.end(junk);
      await new Promise((r) => s.once('close', r));
    }
    const c = await t.connect({ password: 'secret' });
    await c.close();
  } finally {
    await t.close();
  }
});

test('close() disconnects clients and stops listening', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  const c = await t.connect({ password: 'secret' });
  let closed = false;
  t.server.on('close', () => (closed = true));
  await t.server.close();
  const why = await c.closed;
  assert.ok(why instanceof NacreError);
  assert.ok(closed);
  assert.equal(t.server.address(), null);
  assert.equal(t.server.connections.size, 0);
});

/** Two Duplexes wired to each other in memory. */
function duplexPair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        other().push(chunk);
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

test('handleConnection runs over any Duplex', async () => {
  const key = testHostKey();
  const server = createServer({
    hostKeys: [key],
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (cmd, ch) => {
        ch.end(`in memory: ${cmd}`);
        ch.exit(0);
      };
    },
  });
  const [serverSide, clientSide] = duplexPair();
  const conn = server.handleConnection(serverSide, { remoteAddress: 'memory' });
  assert.ok(conn);
  const c = await connect({ sock: clientSide, username: 'bob', password: 'secret', keepalive: false, verifyHostKey: () => true });
  assert.equal((await c.exec('hi')).stdout, 'in memory: hi');
  assert.equal(conn.username, 'bob');
  assert.equal(conn.remoteAddress, 'memory');
  await c.close();
  await server.close();
});

test('keepalive: an idle but answering client stays connected', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    keepalive: { intervalMs: 40, countMax: 2 },
    session: (s) => {
      s.onExec = (_cmd, ch) => ch.exit(0);
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await delay(300); // several probe intervals with no traffic from the client
    assert.equal(c.node.error, null);
    assert.equal((await c.exec('x')).code, 0);
  } finally {
    await t.close();
  }
});

test('createServer refuses a software version the version line cannot carry, instead of failing every connection', () => {
  for (const software of ['My Server-1', 'with space', 'dash-ed', '']) {
    if (software === '') continue; // empty means the default
    assert.throws(() => createServer({ hostKeys: [testHostKey()], software }), (e: unknown) => e instanceof RangeError && /createServer: software/.test(e.message), software);
  }
  assert.doesNotThrow(() => createServer({ hostKeys: [testHostKey()], software: 'MyServer_1.0' }));
});
