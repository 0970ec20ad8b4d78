// Unauthenticated connections: sshd's MaxStartups early drop, the per-source
// limit, the handshake deadline, and counts that return to zero. Idle sockets
// come from 127.0.0.2 and up (Linux routes all of 127.0.0.0/8 to loopback),
// logins from 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { DisconnectReason, NacreError } from '../../src/errors.js';
import {
  DEFAULT_MAX_STARTUPS,
  DEFAULT_MAX_STARTUPS_PER_SOURCE,
  StartupLimiter,
  TOO_MANY_FROM_SOURCE,
  TOO_MANY_UNAUTHENTICATED,
  sourceKey,
  startupDropPercent,
} from '../../src/server/startups.js';
import { startServer, passwordSecret, delay, type TestServer } from './server-helpers.js';

/** A socket from `from` that waits for the server's first bytes and then sends nothing. */
async function idleSocket(t: TestServer, from: string): Promise<Socket> {
  const s = netConnect({ port: t.port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  await new Promise((r) => s.once('data', r));
  return s;
}

async function idleSockets(t: TestServer, from: string, n: number): Promise<Socket[]> {
  return Promise.all(Array.from({ length: n }, () => idleSocket(t, from)));
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await delay(10)) if (Date.now() > end) throw new Error('timed out waiting');
}

test('early drop: sshd\'s begin:rate:full arithmetic', () => {
  const l = DEFAULT_MAX_STARTUPS;
  assert.deepEqual(l, { begin: 10, rate: 30, full: 100 });
  assert.equal(startupDropPercent(0, l), 0);
  assert.equal(startupDropPercent(9, l), 0);
  assert.equal(startupDropPercent(10, l), 30);
  assert.equal(startupDropPercent(55, l), 65); // 30 + 70 * 45 / 90
  assert.equal(startupDropPercent(91, l), 93); // 30 + 70 * 81 / 90
  assert.equal(startupDropPercent(100, l), 100);
  assert.equal(startupDropPercent(500, l), 100);
  assert.equal(startupDropPercent(3, { begin: 3, rate: 100, full: 10 }), 100);
  // sshd's single-number form: a hard limit.
  assert.equal(startupDropPercent(9, { begin: 10, rate: 100, full: 10 }), 0);
  assert.equal(startupDropPercent(10, { begin: 10, rate: 100, full: 10 }), 100);
});

test('early drop: the injected random decides at p%, and is not asked below begin or at full', () => {
  let draws = 0;
  let next = 0;
  const limiter = new StartupLimiter({ begin: 2, rate: 30, full: 4 }, Infinity, () => {
    draws++;
    return next;
  });
  const sources = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
  assert.equal(limiter.refusal(sources[0]), null);
  limiter.track(sources[0]);
  limiter.track(sources[1]);
  assert.equal(draws, 0, 'no draw below begin');
  // Two unauthenticated: p = 30%.
  next = 0.2999;
  assert.equal(limiter.refusal('10.0.0.9'), TOO_MANY_UNAUTHENTICATED);
  next = 0.3;
  assert.equal(limiter.refusal('10.0.0.9'), null);
  limiter.track(sources[2]);
  // Three: p = 30 + 70 * 1 / 2 = 65%.
  next = 0.6499;
  assert.equal(limiter.refusal('10.0.0.9'), TOO_MANY_UNAUTHENTICATED);
  next = 0.65;
  assert.equal(limiter.refusal('10.0.0.9'), null);
  limiter.track(sources[3]);
  const before = draws;
  next = 0.9999;
  assert.equal(limiter.refusal('10.0.0.9'), TOO_MANY_UNAUTHENTICATED, 'full: always');
  assert.equal(draws, before, 'no draw at full');
});

test('per source: IPv4 by address, IPv6 by /64, IPv4-mapped IPv6 as IPv4', () => {
  assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('::FFFF:c000:207'), '192.0.2.7');
  assert.equal(sourceKey('0:0:0:0:0:ffff:192.0.2.7'), '192.0.2.7');
  const block = sourceKey('2001:db8:1:2::1');
  assert.equal(block, '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), block);
  assert.equal(sourceKey('2001:db8:1:2:a:b:c:d'), block);
  assert.notEqual(sourceKey('2001:db8:1:3::1'), block);
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(sourceKey('64:ff9b::192.0.2.7'), '64:ff9b:0:0::/64', 'NAT64 is IPv6, not the embedded IPv4');
  assert.equal(sourceKey('memory'), 'memory');
  assert.equal(sourceKey(undefined), undefined);

  const limiter = new StartupLimiter(DEFAULT_MAX_STARTUPS, 2, () => 0.5);
  limiter.track('2001:db8:1:2::1');
  limiter.track('2001:db8:1:2::2');
  assert.equal(limiter.refusal('2001:db8:1:2:ffff::3'), TOO_MANY_FROM_SOURCE, 'another address in the same /64');
  assert.equal(limiter.refusal('2001:db8:1:3::1'), null, 'the next /64');
  limiter.track('192.0.2.7');
  limiter.track('::ffff:192.0.2.7');
  assert.equal(limiter.refusal('192.0.2.7'), TOO_MANY_FROM_SOURCE);
  assert.equal(limiter.refusal('192.0.2.8'), null);
  assert.equal(limiter.count('::ffff:192.0.2.7'), 2);
  assert.equal(limiter.refusal(undefined), null, 'no address: only the total counts');
});

test('counts return to zero: each release counts once, and empty sources are forgotten', () => {
  const limiter = new StartupLimiter(DEFAULT_MAX_STARTUPS, DEFAULT_MAX_STARTUPS_PER_SOURCE, () => 0.5);
  for (let i = 0; i < 1000; i++) {
    const from = i % 3 === 0 ? undefined : `2001:db8:${i % 7}::${i}`;
    const release = limiter.track(from);
    assert.equal(limiter.refusal(`10.0.0.${i % 250}`), null);
    release(); // authenticated
    release(); // and later disconnected: no second decrement
  }
  assert.equal(limiter.count(), 0);
  assert.equal(limiter.sources, 0);
});

test('idle connections from one address do not stop a login from another', async () => {
  // 100 idle sockets reached the old hard limit of 100 and locked everyone out.
  const t = await startServer({ authenticate: passwordSecret, earlyDropRandom: () => 0 });
  const refused: string[] = [];
  t.server.on('refused', (_info, why) => refused.push(why));
  const idle = await idleSockets(t, '127.0.0.2', 100);
  try {
    const c = await t.connect({ password: 'secret' });
    assert.equal(c.node.error, null);
    await c.close();
    assert.equal(refused.length, 100 - DEFAULT_MAX_STARTUPS_PER_SOURCE);
    assert.ok(refused.every((r) => r === TOO_MANY_FROM_SOURCE));
    assert.equal(t.server.unauthenticated('127.0.0.2'), DEFAULT_MAX_STARTUPS_PER_SOURCE);
  } finally {
    for (const s of idle) s.destroy();
    await t.close();
  }
});

test('past begin, new connections are dropped at random: a retry gets in', async () => {
  let draw = 0.99; // below p until full: the idle sockets all get in
  const t = await startServer({ authenticate: passwordSecret, maxStartupsPerSource: 5, earlyDropRandom: () => draw });
  // Four sources with five idle sockets each, and four from the login's own
  // address (so fair admission has no block holding two more than it to take
  // a slot from): 24 unauthenticated, past begin (10).
  const idle = (await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((a) => idleSockets(t, a, 5)))).flat();
  idle.push(...(await idleSockets(t, '127.0.0.1', 4)));
  try {
    assert.equal(t.server.unauthenticated(), 24);
    draw = 0.4; // p = 30 + 70 * 14 / 90 = 40.9%
    const err = await t.connect({ password: 'secret' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NacreError, String(err));
    assert.equal(err.reason, DisconnectReason.TOO_MANY_CONNECTIONS);
    draw = 0.41;
    const c = await t.connect({ password: 'secret' });
    await c.close();
  } finally {
    for (const s of idle) s.destroy();
    await t.close();
  }
});

test('a socket that sends nothing is closed at the handshake deadline, not after the login grace', async () => {
  const t = await startServer({ authenticate: passwordSecret, handshakeTimeoutMs: 300 });
  const ends: (NacreError | null)[] = [];
  t.server.on('disconnect', (_c, e) => ends.push(e));
  try {
    const s = await idleSocket(t, '127.0.0.2');
    assert.equal(t.server.unauthenticated('127.0.0.2'), 1);
    await new Promise((r) => s.once('close', r));
    assert.equal(ends[0]?.name, 'TimeoutError');
    assert.equal(t.server.unauthenticated(), 0);
    // A real client needs far less than the deadline.
    const c = await t.connect({ password: 'secret' });
    await delay(400);
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('counts return to zero after many logins, idle sockets and refusals', async () => {
  const t = await startServer({ authenticate: passwordSecret, maxStartupsPerSource: 2 });
  try {
    for (let round = 0; round < 5; round++) {
      const idle = await idleSockets(t, '127.0.0.2', 4); // two accepted, two refused
      assert.equal(t.server.unauthenticated('127.0.0.2'), 2);
      const c = await t.connect({ password: 'secret' });
      assert.equal(t.server.unauthenticated('127.0.0.1'), 0, 'authenticated: no longer counted');
      for (const s of idle) s.destroy();
      await c.close();
      await waitFor(() => t.server.unauthenticated() === 0);
    }
    await waitFor(() => t.server.connections.size === 0);
    assert.equal(t.server.unauthenticated(), 0);
    assert.equal(t.server.unauthenticated('127.0.0.2'), 0);
  } finally {
    await t.close();
  }
});
