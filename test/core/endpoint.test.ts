// Whole sessions (transport + auth + connection) back to back in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPair } from '../../src/testing/endpoint-pair.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { DEFAULT_CLIENT_IDENT_TIMEOUT_MS, DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS, Endpoint, type ClientEndpointOptions, type ServerEndpointOptions, type EndpointEvent } from '../../src/core/endpoint.js';
import { DEFAULT_KEX_TIMEOUT_MS } from '../../src/core/transport/transport.js';
import type { ClientCredential } from '../../src/core/auth/events.js';
import { ReqExec, ReqExitStatus } from '../../src/messages/channel-types.js';
import { DisconnectReason, TimeoutError, VersionError } from '../../src/errors.js';
import { generateHostKey } from '../../src/keys/index.js';

const hostKey = generateHostKey('ssh-ed25519');
const userKey = generateHostKey('ssh-ed25519');

function makePair(opts: {
  credentials?: ClientCredential[];
  server?: Partial<ServerEndpointOptions>;
  client?: Partial<ClientEndpointOptions>;
  onEvent?: (side: 'client' | 'server', e: EndpointEvent, pair: EndpointPair) => void;
  /** The client's user has not yet said yes to the host key. */
  holdHostKey?: boolean;
} = {}): EndpointPair {
  const clock = new FakeClock();
  const client: ClientEndpointOptions = {
    role: 'client',
    random: seededRandom('c'),
    now: clock.now,
    algorithms: defaultAlgorithmLists({ kex: ['curve25519-sha256'] }),
    auth: { username: 'alice', credentials: opts.credentials ?? [{ method: 'publickey', keys: [{ publicBlob: userKey.publicBlob, keyType: userKey.keyType }] }] },
    ...opts.client,
  };
  const server: ServerEndpointOptions = {
    role: 'server',
    random: seededRandom('s'),
    now: clock.now,
    algorithms: defaultAlgorithmLists(),
    hostKeys: [hostKey],
    auth: { failureDelayMs: 0 },
    ...opts.server,
  };
  return new EndpointPair(client, server, clock, (side, e, pair) => {
    if (side === 'client' && e.type === 'host-key' && !opts.holdHostKey) pair.client.endpoint.answerHostKey(pair.clock.now, true);
    if (side === 'client' && e.type === 'auth-sign') pair.client.endpoint.answerSign(pair.clock.now, e.id, userKey.sign(e.algorithm, e.data));
    if (side === 'server' && e.type === 'auth-request') {
      const ok = e.method === 'publickey' ? Buffer.from(e.publicKey).equals(Buffer.from(userKey.publicBlob)) : e.method === 'password' ? e.password === 'secret' : false;
      pair.server.endpoint.answerAuth(pair.clock.now, e.id, { result: ok ? 'success' : 'failure' });
    }
    opts.onEvent?.(side, e, pair);
  });
}

const has = (events: readonly EndpointEvent[], type: string) => events.some((e) => e.type === type);

test('publickey login, then exec with output and exit-status', () => {
  let serverChannel = -1;
  const pair = makePair({
    onEvent: (side, e, p) => {
      if (side === 'server' && e.type === 'channel-open-request') {
        serverChannel = e.channel;
        p.server.endpoint.acceptChannel(p.clock.now, e.channel);
      }
      if (side === 'server' && e.type === 'channel-request' && e.requestType === 'exec') {
        assert.equal(ReqExec.decode(e.data).command, 'echo hi');
        p.server.endpoint.answerChannelRequest(p.clock.now, e.channel, true);
        p.server.endpoint.write(p.clock.now, e.channel, new TextEncoder().encode('hi\n'));
        p.server.endpoint.channelRequest(p.clock.now, e.channel, 'exit-status', false, ReqExitStatus.encode({ status: 0 }));
        p.server.endpoint.eof(p.clock.now, e.channel);
        p.server.endpoint.closeChannel(p.clock.now, e.channel);
      }
    },
  });
  pair.pump();
  assert.ok(has(pair.client.events, 'auth-success'));
  assert.ok(pair.client.endpoint.isAuthenticated && pair.server.endpoint.isAuthenticated);
  const ch = pair.client.endpoint.openChannel(pair.clock.now, 'session');
  pair.pump();
  pair.client.endpoint.channelRequest(pair.clock.now, ch, 'exec', true, ReqExec.encode({ command: 'echo hi' }));
  pair.pump();
  const data = pair.client.events.find((e) => e.type === 'channel-data');
  assert.ok(data && data.type === 'channel-data');
  assert.equal(new TextDecoder().decode(data.data), 'hi\n');
  const exit = pair.client.events.find((e) => e.type === 'channel-request' && e.requestType === 'exit-status');
  assert.ok(exit && exit.type === 'channel-request' && ReqExitStatus.decode(exit.data).status === 0);
  assert.ok(has(pair.client.events, 'channel-close'));
  assert.ok(serverChannel >= 0);
});

test('password after a refused key', () => {
  const other = generateHostKey('ssh-ed25519');
  const pair = makePair({
    credentials: [
      { method: 'publickey', keys: [{ publicBlob: other.publicBlob, keyType: other.keyType }] },
      { method: 'password', password: 'secret' },
    ],
  });
  pair.pump();
  const success = pair.client.events.find((e) => e.type === 'auth-success');
  assert.ok(success && success.type === 'auth-success' && success.method === 'password');
});

test('failed authentication ends with AuthenticationError listing methods', () => {
  const pair = makePair({ credentials: [{ method: 'password', password: 'nope' }] });
  pair.runFor(1000);
  const d = pair.client.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected');
  assert.equal(d.error.name, 'AuthenticationError');
  assert.match(d.error.message, /tried: .*password/);
  assert.equal(d.error.reason, DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE);
});

test('login grace time closes an idle unauthenticated connection', () => {
  const pair = makePair({ server: { auth: { graceTimeMs: 5000, failureDelayMs: 0 } } });
  // A client that never gets anywhere: it hears nothing from the server.
  pair.client.receiving = false;
  pair.pump();
  pair.runFor(4000);
  assert.ok(!has(pair.server.events, 'disconnected'));
  pair.runFor(2000);
  const d = pair.server.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && /grace/.test(d.error.message), JSON.stringify(pair.server.events.map((e) => e.type)));
});

function serverAlone(options: Partial<ServerEndpointOptions> = {}): { endpoint: Endpoint; clock: FakeClock } {
  const clock = new FakeClock();
  const session = new Endpoint({ role: 'server', random: seededRandom('s'), now: clock.now, algorithms: defaultAlgorithmLists(), hostKeys: [hostKey], ...options });
  return { endpoint: session, clock };
}

function drainEvents(session: Endpoint): EndpointEvent[] {
  const out: EndpointEvent[] = [];
  for (let e = session.pollEvent(); e; e = session.pollEvent()) out.push(e);
  return out;
}

test('a peer that sends nothing is dropped at the handshake deadline, long before the login grace time', () => {
  const { endpoint: session, clock } = serverAlone();
  const start = clock.now;
  assert.equal(session.nextDeadline(), start + DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS);
  assert.ok(DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS < 120_000);
  session.handleTimeout(clock.advance(DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS - 1));
  assert.ok(!has(drainEvents(session), 'disconnected'));
  assert.equal(session.nextDeadline(), start + DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS, 'a late timer does not move it');
  session.handleTimeout(clock.advance(1));
  const d = drainEvents(session).find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected', 'disconnected at the deadline');
  assert.ok(d.error instanceof TimeoutError, d.error.name);
  assert.match(d.error.message, /handshake .* timed out after 20000 ms/);
  assert.equal(session.nextDeadline(), null);
});

test('a peer that sends only its version line is still dropped at the handshake deadline', () => {
  const { endpoint: session, clock } = serverAlone({ handshakeTimeoutMs: 3000 });
  session.receive(clock.advance(1000), Buffer.from('SSH-2.0-slow\r\n'));
  assert.equal(session.nextDeadline(), clock.now + 2000);
  session.handleTimeout(clock.advance(2000));
  const d = drainEvents(session).find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && d.error instanceof TimeoutError);
  assert.equal(d.error.reason, DisconnectReason.BY_APPLICATION);
});

test('the handshake deadline ends once the peer has done its part of the first exchange', () => {
  // The client's user reads the host key fingerprint for longer than the
  // handshake time (OpenSSH asks before it sends NEWKEYS): that is not idling.
  const pair = makePair({ holdHostKey: true, server: { handshakeTimeoutMs: 5000, auth: { graceTimeMs: 60_000, failureDelayMs: 0 } } });
  pair.pump();
  assert.ok(has(pair.client.events, 'host-key'));
  pair.runFor(30_000);
  assert.ok(!has(pair.server.events, 'disconnected'), JSON.stringify(pair.server.events.map((e) => e.type)));
  pair.client.endpoint.answerHostKey(pair.clock.now, true);
  pair.pump();
  assert.ok(pair.server.endpoint.isAuthenticated);
});

test('handshakeTimeoutMs 0 leaves only the key exchange and grace limits; a client has only the identification-line limit by default', () => {
  const { endpoint: session, clock } = serverAlone({ handshakeTimeoutMs: 0, auth: { graceTimeMs: 0 } });
  assert.equal(session.nextDeadline(), clock.now + DEFAULT_KEX_TIMEOUT_MS);
  const client = new Endpoint({ role: 'client', random: seededRandom('c'), now: clock.now, algorithms: defaultAlgorithmLists(), auth: { username: 'a', credentials: [] } });
  assert.equal(client.nextDeadline(), clock.now + DEFAULT_CLIENT_IDENT_TIMEOUT_MS);
  // Once the server's version line is in, only the key exchange limit is left.
  client.receive(clock.advance(100), Buffer.from('SSH-2.0-OpenSSH_10.0\r\n'));
  assert.equal(client.nextDeadline(), clock.now - 100 + DEFAULT_KEX_TIMEOUT_MS);
});

test('a client given no version line in identTimeoutMs ends with a VersionError quoting what came instead', () => {
  const clock = new FakeClock();
  const client = new Endpoint({ role: 'client', random: seededRandom('c'), now: clock.now, identTimeoutMs: 5000, algorithms: defaultAlgorithmLists(), auth: { username: 'a', credentials: [] } });
  client.receive(clock.advance(10), Buffer.from('220 smtp ready\r\nEHLO'));
  client.handleTimeout(clock.advance(4989));
  assert.equal(drainEvents(client).length, 0);
  client.handleTimeout(clock.advance(1));
  const d = drainEvents(client).find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && d.error instanceof VersionError, JSON.stringify(d));
  assert.equal(d.error.message, "no SSH identification line within 5000 ms; it sent: '220 smtp ready\\r\\nEHLO'");
  assert.equal(client.nextDeadline(), null);
});

test('a server that closes before its version line: VersionError, not a lost connection', () => {
  const clock = new FakeClock();
  const client = new Endpoint({ role: 'client', random: seededRandom('c'), now: clock.now, algorithms: defaultAlgorithmLists(), auth: { username: 'a', credentials: [] } });
  client.receive(clock.now, Buffer.from('HTTP/1.0 400 Bad Request\r\n\r\n'));
  client.connectionLost(clock.now, 'peer closed the connection');
  const d = drainEvents(client).find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && d.error instanceof VersionError, JSON.stringify(d));
  assert.equal(d.error.message, "no SSH identification line before the connection closed (peer closed the connection); it sent: 'HTTP/1.0 400 Bad Request\\r\\n\\r\\n'");
});

test('a peer that sends a line without end, NULs or endless lines before any version: a VersionError quoting it', () => {
  for (const [sent, why] of [
    [Buffer.alloc(1 << 20, 0x41), /^no SSH identification line \(line before the version is longer than 8192 bytes\); it sent: 'A+'\.\.\.$/],
    [Buffer.from('\0\x01binary\n'), /^no SSH identification line \(line before the version contains a NUL byte\); it sent: '\\x00\\x01binary\\n'$/],
    [Buffer.from('ok\r\n'.repeat(2000)), /^no SSH identification line \(more than 1024 lines before the version line\); it sent: '(ok\\r\\n)+/],
  ] as const) {
    const clock = new FakeClock();
    const client = new Endpoint({ role: 'client', random: seededRandom('c'), now: clock.now, algorithms: defaultAlgorithmLists(), auth: { username: 'a', credentials: [] } });
    client.receive(clock.advance(1), sent);
    const d = drainEvents(client).find((e) => e.type === 'disconnected');
    assert.ok(d && d.type === 'disconnected' && d.error instanceof VersionError, JSON.stringify(d));
    assert.match(d.error.message, why);
  }
});

test('keepalive detects a silent server', () => {
  const pair = makePair({ client: { keepalive: { intervalMs: 10_000, countMax: 3 } } });
  pair.pump();
  assert.ok(pair.client.endpoint.isAuthenticated);
  // Answered probes keep the connection up.
  pair.runFor(60_000);
  assert.ok(!has(pair.client.events, 'disconnected'));
  // The server goes silent: probes are not answered.
  pair.server.receiving = false;
  pair.runFor(60_000);
  const d = pair.client.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && d.error.name === 'TimeoutError', JSON.stringify(d));
});

test('rekey in the middle of heavy channel traffic keeps every byte in order', () => {
  let serverChannel = -1;
  const received: number[] = [];
  const pair = makePair({
    client: { rekey: { bytes: 256 * 1024 } },
    onEvent: (side, e, p) => {
      if (side === 'server' && e.type === 'channel-open-request') {
        serverChannel = e.channel;
        p.server.endpoint.acceptChannel(p.clock.now, e.channel);
      }
      if (side === 'server' && e.type === 'channel-data') {
        for (const b of e.data) received.push(b);
        p.server.endpoint.consumed(p.clock.now, e.channel, e.data.length);
      }
    },
  });
  pair.pump();
  const ch = pair.client.endpoint.openChannel(pair.clock.now, 'session');
  pair.pump();
  const total = 4 * 1024 * 1024;
  const block = new Uint8Array(32 * 1024);
  let sent = 0;
  while (sent < total) {
    for (let i = 0; i < block.length; i++) block[i] = (sent + i) % 251;
    const n = pair.client.endpoint.write(pair.clock.now, ch, block);
    sent += n;
    if (n < block.length) {
      // Resend the tail that did not fit next round (values depend on offset).
      pair.pump();
      continue;
    }
    if ((sent / block.length) % 8 === 0) pair.pump();
  }
  pair.pump();
  assert.equal(received.length, total);
  for (let i = 0; i < total; i += 4093) assert.equal(received[i], i % 251);
  const rekeys = pair.client.events.filter((e) => e.type === 'keys-exchanged').length - 1;
  assert.ok(rekeys >= 10, `rekeyed ${rekeys} times`);
  assert.ok(serverChannel >= 0);
});

test('a reader that never reads bounds memory by the window', () => {
  let buffered = 0;
  const pair = makePair({
    onEvent: (side, e, p) => {
      if (side === 'server' && e.type === 'channel-open-request') p.server.endpoint.acceptChannel(p.clock.now, e.channel);
      if (side === 'server' && e.type === 'channel-data') buffered += e.data.length; // never consumed
    },
  });
  pair.pump();
  const ch = pair.client.endpoint.openChannel(pair.clock.now, 'session');
  pair.pump();
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    accepted += pair.client.endpoint.write(pair.clock.now, ch, new Uint8Array(64 * 1024));
    pair.pump();
  }
  assert.equal(accepted, 2 * 1024 * 1024, 'writer stopped at the 2 MiB window');
  assert.equal(buffered, 2 * 1024 * 1024);
});

test('connection messages before authentication are refused', () => {
  // The password failure is held for 10 s, so the client is still unauthenticated.
  const pair = makePair({ credentials: [{ method: 'password', password: 'wrong' }], server: { auth: { failureDelayMs: 10_000 } } });
  pair.pump();
  // Force a channel open from a client that never authenticated.
  const t = pair.client.endpoint.transport;
  t.send(pair.clock.now, Uint8Array.of(90, 0, 0, 0, 7, 115, 101, 115, 115, 105, 111, 110, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1));
  pair.pump();
  const d = pair.server.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected' && /before authentication/.test(d.error.message));
});

test('random upper-layer messages from an authenticated peer never throw', () => {
  const random = seededRandom('session-fuzz');
  for (let round = 0; round < 150; round++) {
    const pair = makePair({
      onEvent: (side, e, p) => {
        // Accept whatever the fuzz opens, so channel messages reach deeper code.
        if (side === 'server' && e.type === 'channel-open-request') p.server.endpoint.acceptChannel(p.clock.now, e.channel);
        if (side === 'server' && e.type === 'channel-request' && e.wantReply) p.server.endpoint.answerChannelRequest(p.clock.now, e.channel, true);
      },
    });
    pair.pump();
    pair.client.endpoint.openChannel(pair.clock.now, 'session');
    pair.pump();
    for (let i = 0; i < 5; i++) {
      const r = random(64);
      const payload = random(1 + (r[0]! % 60));
      payload[0] = 50 + (r[1]! % 78);
      if (r[2]! % 2 === 0 && payload.length >= 5) payload.set([0, 0, 0, 0], 1); // aim at channel 0 often
      assert.doesNotThrow(() => {
        pair.client.endpoint.transport.send(pair.clock.now, payload);
        pair.pump();
      });
    }
  }
});

test('a rekey the client starts after the server sat idle longer than the kex timeout is timed from its arrival', () => {
  // The server's only timer is its hourly rekey; nothing fires while it idles,
  // so only the time given with the received KEXINIT can date the exchange.
  const pair = makePair();
  pair.pump();
  assert.ok(pair.server.endpoint.isAuthenticated);
  const idle = 3 * DEFAULT_KEX_TIMEOUT_MS;
  assert.ok(pair.server.endpoint.nextDeadline()! > pair.clock.now + idle, 'the server has no timer due during the idle time');
  pair.advance(idle);
  // The client starts a rekey; the server's answer takes a second to come back.
  pair.client.receiving = false;
  pair.client.endpoint.rekey(pair.clock.now);
  pair.pump();
  assert.ok(pair.server.endpoint.transport.rekeying, 'the server has taken up the exchange');
  pair.advance(1000);
  pair.client.receiving = true;
  pair.pump();
  for (const side of [pair.client, pair.server]) {
    assert.ok(!has(side.events, 'disconnected'), JSON.stringify(side.events.find((e) => e.type === 'disconnected')));
    assert.equal(side.events.filter((e) => e.type === 'keys-exchanged' && !e.initial).length, 1, JSON.stringify(side.events.map((e) => e.type)));
  }
});
