// Hostile or broken peers: each case ends one connection at most, never the
// process, and never lets the peer grow our memory or spin our timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable, Duplex } from 'node:stream';
import { makePair, clientKexInit } from '../core/transport-helpers.js';
import { EndpointPair } from '../../src/testing/endpoint-pair.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { generateHostKey } from '../../src/keys/index.js';
import { ExtInfo, Ping } from '../../src/messages/transport.js';
import { Driver, READ_PAUSE_LIMIT } from '../../src/io/node/driver.js';
import { startServer, passwordSecret } from './server-helpers.js';
import type { EndpointEvent } from '../../src/core/endpoint.js';

test('a peer that starts a rekey and then sends PINGs is cut off, not queued for', () => {
  const { pair } = makePair();
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.server.transport.setAuthenticated();
  // The client sends KEXINIT (rekey) but the test withholds everything else of
  // the exchange and has it send PING, which RFC 4253 §7.1 forbids there.
  const t = pair.client.transport as unknown as { writePacket(p: Uint8Array): void };
  t.writePacket(clientKexInit(false));
  t.writePacket(Ping.encode({ data: new Uint8Array(1000) }));
  pair.pump();
  const d = pair.server.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && /not allowed during key exchange/.test(d.error.message), JSON.stringify(d));
});


test('a key exchange that never finishes times out instead of spinning a timer', () => {
  const { pair, clock } = makePair({ serverOptions: { kexTimeoutMs: 30_000 } });
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.server.transport.setAuthenticated();
  pair.server.transport.rekey(pair.clock.now);
  // The client never answers: drop the server's KEXINIT on the floor.
  while (pair.server.transport.pollTransmit()) {
    /* discard */
  }
  const deadline = pair.server.transport.nextDeadline();
  assert.equal(deadline, clock.now + 30_000);
  pair.server.transport.handleTimeout(clock.advance(10_000));
  assert.equal(pair.server.transport.nextDeadline(), deadline, 'the deadline does not move into the past');
  pair.server.transport.handleTimeout(clock.advance(20_000));
  const d = [];
  for (let e = pair.server.transport.pollEvent(); e; e = pair.server.transport.pollEvent()) d.push(e);
  const last = d.find((e) => e.type === 'disconnected');
  assert.ok(last && last.type === 'disconnected' && last.error.name === 'TimeoutError');
});

test('zlib@openssh.com: a compressed packet right after USERAUTH_SUCCESS in the same read', () => {
  const hk = generateHostKey('ssh-ed25519');
  const clock = new FakeClock();
  const algorithms = defaultAlgorithmLists({ compression: ['zlib@openssh.com'] });
  const pair = new EndpointPair(
    { role: 'client', random: seededRandom('zc'), now: clock.now, algorithms, auth: { username: 'u', credentials: [{ method: 'password', password: 'pw' }] } },
    { role: 'server', random: seededRandom('zs'), now: clock.now, algorithms, hostKeys: [hk], auth: { failureDelayMs: 0 } },
    clock,
    (side, e: EndpointEvent, p) => {
      if (e.type === 'host-key') p.client.endpoint.answerHostKey(p.clock.now, true);
      if (e.type === 'auth-request') {
        // Hold what the server says from here on, to deliver it in one read.
        if (e.method === 'password') p.client.receiving = false;
        p.server.endpoint.answerAuth(p.clock.now, e.id, { result: e.method === 'password' ? 'success' : 'failure' });
        // Something compressed right behind USERAUTH_SUCCESS, as a server may send.
        if (e.method === 'password') p.server.endpoint.globalRequest(p.clock.now, 'hostkeys-00@openssh.com', false);
      }
    },
  );
  pair.pump();
  const held = (pair as unknown as { held: { client: Uint8Array[] } }).held.client.splice(0);
  assert.ok(held.length >= 2, 'USERAUTH_SUCCESS and the next packet are held');
  pair.client.endpoint.receive(clock.now, Buffer.concat(held));
  pair.client.receiving = true;
  pair.pump();
  assert.ok(pair.client.endpoint.isAuthenticated);
  assert.ok(!pair.client.events.some((e) => e.type === 'disconnected'), JSON.stringify(pair.client.events.filter((e) => e.type === 'disconnected')));
  assert.ok(pair.client.events.some((e) => e.type === 'global-request'));
});

test('a malformed exit-status from the server does not crash the client', async () => {
  const s = await startServer({
    authenticate: passwordSecret,
    session: (sess) => {
      sess.onExec = (_cmd, ch) => {
        // Bypass the helpers: an exit-status with no status field.
        void ch.raw.request('exit-status', new Uint8Array(0), false);
        ch.exit(4);
      };
    },
  });
  try {
    const c = await s.connect({ password: 'secret' });
    const r = await c.exec('anything');
    assert.equal(r.code, 4);
  } finally {
    await s.close();
  }
});

test('the driver stops reading from a peer that does not read its replies', () => {
  // A socket whose writes never complete: everything stays buffered.
  const stuck = new Writable({ highWaterMark: 16 * 1024, write: () => undefined });
  const socket = new Duplex({ read: () => undefined, write: (c, e, cb) => stuck.write(c, e, cb) });
  let out: Uint8Array | null = new Uint8Array(READ_PAUSE_LIMIT + 1024);
  const core = {
    receive: () => undefined,
    pollTransmit: () => {
      const b = out;
      out = null;
      return b;
    },
    pollEvent: () => null,
    nextDeadline: () => null,
    handleTimeout: () => undefined,
    connectionLost: () => undefined,
    abort: () => undefined,
  };
  const d = new Driver(socket, core, () => undefined);
  d.run();
  assert.equal(socket.isPaused(), true);
});

test('a long preamble before the server version is read line by line, in small chunks', () => {
  const { pair } = makePair();
  const client = pair.client.transport;
  const line = 'x'.repeat(8000) + '\r\n';
  const text = new TextEncoder().encode(line.repeat(1000) + 'SSH-2.0-Big_1.0\r\n');
  for (let i = 0; i < text.length; i += 1460) client.receive(pair.clock.now, text.subarray(i, i + 1460));
  assert.equal(client.preamble.length, 1000);
  assert.equal(client.peerVersion, 'SSH-2.0-Big_1.0');
  assert.equal(client.isClosed, false);
});

test('stdout and stderr both waiting for the window are both woken', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const s = await startServer({
    authenticate: passwordSecret,
    session: (sess) => {
      sess.onExec = (_cmd, ch) => {
        // More than the 2 MiB window on each stream at once.
        let pending = 2;
        const done = () => {
          if (--pending === 0) ch.exit(0);
        };
        ch.write(big, done);
        ch.stderr.write(big, done);
      };
    },
  });
  try {
    const c = await s.connect({ password: 'secret' });
    const r = await c.exec('both', { encoding: 'buffer' });
    assert.equal(r.stdout.length, big.length);
    assert.equal(r.stderr.length, big.length);
    assert.equal(r.code, 0);
  } finally {
    await s.close();
  }
});

test('EXT_INFO is taken only where RFC 8308 allows it, so a server cannot grow the table without end', () => {
  const { pair } = makePair();
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  const before = pair.client.transport.peerExtensions.size;
  assert.ok(before > 0, 'the first EXT_INFO, after NEWKEYS, was taken');
  const server = pair.server.transport as unknown as { writePacket(p: Uint8Array): void };
  const ext = (name: string) => ExtInfo.encode({ extensions: [[name, new Uint8Array(1)]] });
  // One more before authentication is allowed (the one before USERAUTH_SUCCESS)...
  server.writePacket(ext('second@example.com'));
  // ...later ones are not, nor any after authentication.
  server.writePacket(ext('third@example.com'));
  pair.pump();
  pair.client.transport.setAuthenticated();
  server.writePacket(ext('late@example.com'));
  pair.pump();
  const names = [...pair.client.transport.peerExtensions.keys()];
  assert.ok(names.includes('second@example.com'));
  assert.ok(!names.includes('third@example.com') && !names.includes('late@example.com'), names.join(','));
  assert.ok(!pair.client.events.some((e) => e.type === 'disconnected'));
});

test('the server refuses a key re-exchange before login with UNIMPLEMENTED, as sshd does', () => {
  const { pair } = makePair();
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  // Not authenticated: each re-exchange would cost the server a key exchange and a signature.
  pair.client.transport.rekey(pair.clock.now);
  pair.pump();
  const d = pair.client.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && /refused our KEXINIT/.test(d.error.message), JSON.stringify(d));
  assert.equal(pair.server.events.filter((e) => e.type === 'keys-exchanged').length, 1);
});
