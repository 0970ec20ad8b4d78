// Hostile clients against the server: each case ends one connection at most
// (never the process), and nothing the client sends grows the server's
// memory or leaves a program running without bound.
import { test } from 'node:test';
import { connect as netConnect } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { EndpointPair } from '../../src/testing/endpoint-pair.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { generateHostKey } from '../../src/keys/index.js';
import type { EndpointEvent } from '../../src/core/endpoint.js';
import { loadPty, runAsCurrentUser } from '../../src/server/exec-handler.js';
import type { SessionChannel } from '../../src/server/session-channel.js';
import { GlobalTcpipForward, ReqEnv, ReqExec } from '../../src/messages/channel-types.js';
import { OpenFailureReason } from '../../src/messages/connection.js';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import { startServer, passwordSecret, delay, echoServer, roundTrip } from './server-helpers.js';

test('two forbidden messages in one read end the connection once, without throwing out of receive()', () => {
  const clock = new FakeClock();
  const algorithms = defaultAlgorithmLists();
  const pair = new EndpointPair(
    { role: 'client', random: seededRandom('c2'), now: clock.now, algorithms, auth: { username: 'u', credentials: [] } },
    { role: 'server', random: seededRandom('s2'), now: clock.now, algorithms, hostKeys: [generateHostKey('ssh-ed25519')], auth: { failureDelayMs: 0 } },
    clock,
    (side, e: EndpointEvent, p) => {
      if (e.type === 'host-key') p.client.endpoint.answerHostKey(p.clock.now, true);
      // From the client's first encrypted packet on, hold what it sends.
      if (side === 'client' && e.type === 'keys-exchanged') p.server.receiving = false;
    },
  );
  pair.pump();
  // Two connection-layer messages before authentication, behind whatever the
  // client queued (SERVICE_REQUEST), all in one read.
  pair.client.endpoint.transport.send(pair.clock.now, Uint8Array.of(80, 0, 0, 0, 1, 0x78, 0));
  pair.client.endpoint.transport.send(pair.clock.now, Uint8Array.of(80, 0, 0, 0, 1, 0x79, 0));
  for (let b = pair.client.endpoint.pollTransmit(); b; b = pair.client.endpoint.pollTransmit()) {
    (pair as unknown as { held: { server: Uint8Array[] } }).held.server.push(b);
  }
  const held = (pair as unknown as { held: { server: Uint8Array[] } }).held.server.splice(0);
  assert.doesNotThrow(() => pair.server.endpoint.receive(clock.now, Buffer.concat(held)));
  const events: EndpointEvent[] = [];
  for (let e = pair.server.endpoint.pollEvent(); e; e = pair.server.endpoint.pollEvent()) events.push(e);
  const ends = events.filter((e) => e.type === 'disconnected');
  assert.equal(ends.length, 1);
  assert.match(ends[0]!.type === 'disconnected' ? ends[0]!.error.message : '', /before authentication/);
});

test('typing into a PTY program that never reads: the channel applies backpressure and the server stays responsive', { skip: loadPty() ? false : 'node-pty did not load', timeout: 30_000 }, async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const p = await c.spawn('exec sleep 30', { pty: true });
    p.stdout.resume();
    // How late this process's timers run while the client types.
    let lag = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 20);
      last = now;
    }, 20);
    const line = Buffer.from(('a'.repeat(63) + '\n').repeat(256));
    let sent = 0;
    let stalled = false;
    const until = performance.now() + 3000;
    while (performance.now() < until && sent < 16 * 1024 * 1024) {
      sent += line.length;
      if (!p.stdin.write(line)) {
        const drained = await Promise.race([new Promise((r) => p.stdin.once('drain', () => r(true))), delay(1000).then(() => false)]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    clearInterval(tick);
    // The terminal took a little, the window the rest; nothing unbounded.
    assert.ok(stalled, `the client could write ${sent} bytes without being held back`);
    assert.ok(sent < 8 * 1024 * 1024, `sent ${sent}`);
    assert.ok(lag < 500, `the event loop stalled for ${lag.toFixed(0)} ms`);
    const conn = [...t.server.connections][0]!;
    const info = conn.node.connection.channelInfo(0);
    assert.ok(info && info.unconsumed <= 2 * 1024 * 1024, JSON.stringify(info));
    p.close();
    await p.exit;
  } finally {
    await t.close();
  }
});

test('exec and CLOSE in one write: the program is never started, so none is left behind', async () => {
  const log: string[] = [];
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = () => {
        log.push('onExec');
        return true;
      };
      s.onClose = () => log.push('onClose');
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.node.openChannel('session');
    c.node.endpoint.channelRequest(c.node.now(), ch.id, 'exec', true, ReqExec.encode({ command: 'sleep 300' }));
    c.node.endpoint.closeChannel(c.node.now(), ch.id);
    c.node.run();
    await delay(200);
    assert.deepEqual(log, ['onClose']);
  } finally {
    await t.close();
  }
});

test('a client gone while an async session callback runs: its exec handler never runs', async () => {
  const log: string[] = [];
  const t = await startServer({
    authenticate: passwordSecret,
    session: async (s) => {
      await delay(200); // e.g. looking the user up
      s.onExec = () => {
        log.push('onExec');
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    c.exec('sleep 300').catch(() => undefined);
    await delay(50);
    await c.close();
    await delay(400);
    assert.deepEqual(log, []);
  } finally {
    await t.close();
  }
});

test('channel requests flooding in behind a slow handler close the channel instead of queueing without bound', { timeout: 10_000 }, async () => {
  let handled = 0;
  const t = await startServer({
    authenticate: passwordSecret,
    session: async (s) => {
      await delay(500);
      s.onWindowChange = () => {
        handled++;
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.node.openChannel('session');
    let isClosed = false;
    const closed = new Promise<void>((r) =>
      ch.once('channel-close', () => {
        isClosed = true;
        r();
      }),
    );
    const big = new Uint8Array(100 * 1024);
    for (let i = 0; i < 40 && !isClosed; i++) {
      c.node.endpoint.channelRequest(c.node.now(), ch.id, 'window-change', false, big);
      c.node.run();
      await delay(1);
    }
    await closed;
    // Each request holds 100 KiB; the server let at most ~1 MiB of them wait.
    assert.ok(handled <= 11, `handled ${handled}`);
    assert.equal(c.node.error, null, 'only the channel goes, not the connection');
  } finally {
    await t.close();
  }
});

test('env: at most 128 variables are kept; the name __proto__ is just a name', async () => {
  let session: SessionChannel | null = null;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      session = s;
      s.onEnv = () => true;
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.node.openChannel('session');
    const answers: Promise<boolean>[] = [];
    answers.push(ch.request('env', ReqEnv.encode({ name: '__proto__', value: 'x' })));
    for (let i = 0; i < 200; i++) answers.push(ch.request('env', ReqEnv.encode({ name: `V${i}`, value: 'v'.repeat(1000) })));
    const ok = await Promise.all(answers);
    assert.equal(ok.filter(Boolean).length, 128);
    const env = (session as SessionChannel | null)!.env;
    assert.equal(Object.keys(env).length, 128);
    assert.equal(env['__proto__'], 'x');
    assert.equal(Object.getPrototypeOf(env), null);
  } finally {
    await t.close();
  }
});

test('tcpip-forward: one connection holds at most 64 listening sockets', async () => {
  const t = await startServer({ authenticate: passwordSecret, forwardRemote: () => true });
  try {
    const c = await t.connect({ password: 'secret' });
    const rs = await Promise.all(Array.from({ length: 80 }, () => c.node.globalRequest('tcpip-forward', GlobalTcpipForward.encode({ bindAddress: '127.0.0.1', bindPort: 0 }))));
    assert.equal(rs.filter((r) => r.success).length, 64);
  } finally {
    await t.close();
  }
});

test('maxForwardedSockets: -L opens past the cap fail with RESOURCE_SHORTAGE, -R connections past it are closed, and closed sockets free their place', async () => {
  const echo = await echoServer();
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true, forwardRemote: () => true, maxForwardedSockets: 3 });
  try {
    const c = await t.connect({ password: 'secret' });
    let forwardedBack = 0;
    const fwd = await c.forwardRemote({
      bindPort: 0,
      onConnection: (conn) => {
        forwardedBack++;
        conn.channel.resume();
      },
    });
    const open = await Promise.all([1, 2, 3].map(() => c.openDirectTcpip({ host: '127.0.0.1', port: echo.port })));
    const refused = await c.openDirectTcpip({ host: '127.0.0.1', port: echo.port }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof ChannelOpenError, 'the fourth -L open is refused');
    assert.equal(refused.openReason, OpenFailureReason.RESOURCE_SHORTAGE);
    assert.match(refused.message, /too many forwarded connections \(at most 3/);
    // An -R connection past the cap is closed before any channel opens for it.
    await new Promise<void>((resolve) => {
      const s = netConnect(fwd.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      s.on('close', () => resolve());
    });
    assert.equal(forwardedBack, 0);
    open[0]!.destroy();
    await delay(100);
    const again = await c.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
    assert.equal((await roundTrip(again, 'freed')).toString(), 'freed');
  } finally {
    await t.close();
    await echo.close();
  }
});

test('-R: connections reset while their channel opens leave no channel behind on either side', { timeout: 20_000 }, async () => {
  const t = await startServer({ authenticate: passwordSecret, forwardRemote: () => true });
  try {
    const c = await t.connect({ password: 'secret' });
    const fwd = await c.forwardRemote({ bindPort: 0, onConnection: (conn) => conn.channel.resume() });
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve) => {
        const s = netConnect(fwd.port, '127.0.0.1', () => s.resetAndDestroy());
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    await delay(300);
    const server = [...t.server.connections][0]!;
    assert.equal(server.node.channels.size, 0);
    assert.equal(c.node.channels.size, 0);
    await fwd.close();
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: closing the channel releases our pipe ends even when a background job still holds theirs', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc', timeout: 20_000 }, async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 10; i++) {
      const p = await c.spawn('sleep 5 & echo started');
      await new Promise((r) => p.stdout.once('data', r));
      p.close();
      await p.exit;
    }
    await delay(300);
    assert.ok(fds() <= before + 3, `${fds() - before} descriptors more than before`);
  } finally {
    await t.close();
  }
});
