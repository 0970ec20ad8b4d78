// Hostile clients against the server: each case ends one connection at most
// (never the process), and nothing the client sends grows the server's
// memory or leaves a program running without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionPair } from '../../src/testing/session-pair.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { generateHostKey } from '../../src/keys/index.js';
import type { SessionEvent } from '../../src/core/session.js';
import { loadPty, runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret, delay } from './server-helpers.js';

test('two forbidden messages in one read end the connection once, without throwing out of receive()', () => {
  const clock = new FakeClock();
  const algorithms = defaultAlgorithmLists();
  const pair = new SessionPair(
    { role: 'client', random: seededRandom('c2'), now: clock.now, algorithms, auth: { username: 'u', credentials: [] } },
    { role: 'server', random: seededRandom('s2'), now: clock.now, algorithms, hostKeys: [generateHostKey('ssh-ed25519')], auth: { failureDelayMs: 0 } },
    clock,
    (side, e: SessionEvent, p) => {
      if (e.type === 'host-key') p.client.session.answerHostKey(true);
      // From the client's first encrypted packet on, hold what it sends.
      if (side === 'client' && e.type === 'keys-exchanged') p.server.receiving = false;
    },
  );
  pair.pump();
  // Two connection-layer messages before authentication, behind whatever the
  // client queued (SERVICE_REQUEST), all in one read.
  pair.client.session.transport.send(Uint8Array.of(80, 0, 0, 0, 1, 0x78, 0));
  pair.client.session.transport.send(Uint8Array.of(80, 0, 0, 0, 1, 0x79, 0));
  for (let b = pair.client.session.pollTransmit(); b; b = pair.client.session.pollTransmit()) {
    (pair as unknown as { held: { server: Uint8Array[] } }).held.server.push(b);
  }
  const held = (pair as unknown as { held: { server: Uint8Array[] } }).held.server.splice(0);
  assert.doesNotThrow(() => pair.server.session.receive(Buffer.concat(held), clock.now));
  const events: SessionEvent[] = [];
  for (let e = pair.server.session.pollEvent(); e; e = pair.server.session.pollEvent()) events.push(e);
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
