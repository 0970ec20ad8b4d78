import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, dataMessage, counterOf, hostKey } from './transport-helpers.js';
import { kexAlgorithms, cipherAlgorithms, macAlgorithms } from '../../src/algorithms/index.js';
import { DisconnectReason, KeyExchangeError } from '../../src/errors.js';
import type { TransportEvent } from '../../src/core/transport/events.js';

function disconnected(events: readonly TransportEvent[]) {
  const e = events.find((x) => x.type === 'disconnected');
  return e && e.type === 'disconnected' ? e : undefined;
}

function handshake(pair: ReturnType<typeof makePair>['pair']) {
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  const req = pair.server.events.find((e) => e.type === 'service-request');
  assert.ok(req && req.type === 'service-request' && req.service === 'ssh-userauth', 'server saw the service request');
  pair.server.transport.acceptService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  assert.ok(pair.client.events.some((e) => e.type === 'service-accept'), 'client saw SERVICE_ACCEPT');
  // Automatic rekeying starts after user authentication, as in OpenSSH.
  pair.client.transport.setAuthenticated();
  pair.server.transport.setAuthenticated();
}

for (const kex of kexAlgorithms) {
  test(`key exchange ${kex.name} between two cores`, () => {
    const { pair } = makePair({ client: { kex: [kex.name] }, server: { kex: [kex.name] }, seed: kex.name });
    handshake(pair);
    const done = pair.client.events.find((e) => e.type === 'keys-exchanged');
    assert.ok(done && done.type === 'keys-exchanged' && done.algorithms.kex === kex.name && done.strict);
    assert.deepEqual(pair.client.transport.sessionId, pair.server.transport.sessionId);
    assert.ok(pair.client.events.some((e) => e.type === 'ext-info'), 'client got EXT_INFO');
    assert.ok(pair.client.transport.peerExtensions.has('server-sig-algs'));
  });
}

for (const cipher of cipherAlgorithms) {
  for (const mac of cipher.aead ? [macAlgorithms[0]!] : macAlgorithms) {
    test(`cipher ${cipher.name} with ${cipher.aead ? 'its own tag' : mac.name}`, () => {
      const prefs = { cipher: [cipher.name], mac: [mac.name], kex: ['curve25519-sha256'] };
      const { pair } = makePair({ client: prefs, server: prefs, pump: { chunk: 7 } });
      handshake(pair);
      const done = pair.server.events.find((e) => e.type === 'keys-exchanged');
      assert.ok(done && done.type === 'keys-exchanged');
      assert.equal(done.algorithms.clientToServer.cipher, cipher.name);
      assert.equal(done.algorithms.clientToServer.mac, cipher.aead ? null : mac.name);
      for (let i = 0; i < 20; i++) pair.client.transport.send(pair.clock.now, dataMessage(i, 5 + i * 997));
      pair.pump();
      const got = pair.server.events.filter((e) => e.type === 'message');
      assert.equal(got.length, 20);
      // Read only now, after every packet went through the receiver's reused
      // buffer: each payload must still be intact (memory of its own).
      got.forEach((e, i) => {
        assert.ok(e.type === 'message');
        assert.equal(e.payload.length, 5 + i * 997);
        assert.equal(counterOf(e.payload), i);
      });
    });
  }
}

for (const hk of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'] as const) {
  test(`host key algorithm ${hk}`, () => {
    const keys = [hostKey('ssh-ed25519'), hostKey('ecdsa-sha2-nistp256'), hostKey('ecdsa-sha2-nistp384'), hostKey('ecdsa-sha2-nistp521'), hostKey('ssh-rsa')];
    const { pair } = makePair({ client: { hostKey: [hk], kex: ['curve25519-sha256'] }, hostKeys: keys });
    handshake(pair);
    const ask = pair.client.events.find((e) => e.type === 'host-key');
    assert.ok(ask && ask.type === 'host-key' && ask.algorithm === hk);
  });
}

test('no common algorithm names the kind and both lists', () => {
  const { pair } = makePair({ client: { cipher: ['aes128-ctr'] }, server: { cipher: ['aes256-gcm@openssh.com'] } });
  pair.pump();
  const d = disconnected(pair.client.events);
  assert.ok(d);
  assert.ok(d.error instanceof KeyExchangeError);
  assert.match(d.error.message, /no matching cipher \(client to server\) algorithm: client offers \[aes128-ctr\], server offers \[aes256-gcm@openssh.com\]/);
  assert.equal(d.error.reason, DisconnectReason.KEY_EXCHANGE_FAILED);
  assert.ok(disconnected(pair.server.events), 'server sees the DISCONNECT too');
});

test('host key rejected by the client ends the connection', () => {
  const { pair } = makePair({ pump: { acceptHostKey: false } });
  pair.pump();
  pair.client.transport.answerHostKey(pair.clock.now, false, 'SHA256:x');
  pair.pump();
  const d = disconnected(pair.client.events);
  assert.ok(d && d.error.reason === DisconnectReason.HOST_KEY_NOT_VERIFIABLE);
  const s = disconnected(pair.server.events);
  assert.ok(s && s.fromPeer);
});

test('rekey on request, with data flowing both ways, loses and reorders nothing', () => {
  const { pair } = makePair();
  handshake(pair);
  let sent = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 30; i++) {
      pair.client.transport.send(pair.clock.now, dataMessage(sent, 500));
      pair.server.transport.send(pair.clock.now, dataMessage(sent, 700));
      sent++;
      if (i === 10) (round % 2 ? pair.server : pair.client).transport.rekey(pair.clock.now);
    }
    pair.pump();
  }
  for (const side of [pair.client, pair.server]) {
    const msgs = side.events.filter((e) => e.type === 'message').map((e) => (e.type === 'message' ? counterOf(e.payload) : -1));
    assert.deepEqual(msgs, Array.from({ length: sent }, (_, i) => i));
    assert.equal(side.events.filter((e) => e.type === 'keys-exchanged').length, 6);
  }
});

test('rekey by bytes: a small limit rekeys repeatedly during a transfer', () => {
  const { pair } = makePair({ clientOptions: { rekey: { bytes: 64 * 1024 } } });
  handshake(pair);
  for (let i = 0; i < 200; i++) {
    pair.client.transport.send(pair.clock.now, dataMessage(i, 4096));
    if (i % 10 === 0) pair.pump();
  }
  pair.pump();
  const rekeys = pair.client.events.filter((e) => e.type === 'keys-exchanged').length - 1;
  assert.ok(rekeys >= 10, `rekeyed ${rekeys} times`);
  const msgs = pair.server.events.filter((e) => e.type === 'message').map((e) => (e.type === 'message' ? counterOf(e.payload) : -1));
  assert.deepEqual(msgs, Array.from({ length: 200 }, (_, i) => i));
});

test('rekey by packet count', () => {
  const { pair } = makePair({ serverOptions: { rekey: { packets: 50 } } });
  handshake(pair);
  for (let i = 0; i < 200; i++) {
    pair.client.transport.send(pair.clock.now, dataMessage(i, 10));
    if (i % 10 === 9) pair.pump();
  }
  assert.ok(pair.server.events.filter((e) => e.type === 'keys-exchanged').length >= 3);
});

test('rekey by time with a fake clock (default one hour)', () => {
  const { pair, clock } = makePair();
  handshake(pair);
  const deadline = pair.client.transport.nextDeadline();
  assert.equal(deadline, clock.now + 3600_000);
  pair.client.transport.handleTimeout(clock.advance(3599_000));
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 1);
  pair.client.transport.handleTimeout(clock.advance(1000));
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 2);
  assert.equal(pair.client.transport.nextDeadline(), clock.now + 3600_000);
});

test('first_kex_packet_follows: right guess saves a round trip, wrong guess is ignored', () => {
  for (const serverKex of [['curve25519-sha256', 'ecdh-sha2-nistp256'], ['ecdh-sha2-nistp256', 'curve25519-sha256']]) {
    const { pair } = makePair({
      client: { kex: ['curve25519-sha256', 'ecdh-sha2-nistp256'] },
      server: { kex: serverKex },
      clientOptions: { guessFirstKex: true },
    });
    handshake(pair);
    const done = pair.client.events.find((e) => e.type === 'keys-exchanged');
    assert.ok(done && done.type === 'keys-exchanged' && done.algorithms.kex === 'curve25519-sha256');
  }
});

test('PING is answered with PONG after the key exchange', () => {
  const { pair } = makePair();
  handshake(pair);
  pair.client.transport.ping(pair.clock.now, Uint8Array.of(1, 2, 3));
  pair.pump();
  const pong = pair.client.events.find((e) => e.type === 'pong');
  assert.ok(pong && pong.type === 'pong');
  assert.deepEqual([...pong.data], [1, 2, 3]);
});

test('zlib compression, and zlib@openssh.com starting after authentication', () => {
  for (const name of ['zlib', 'zlib@openssh.com']) {
    const prefs = { compression: [name] };
    const { pair } = makePair({ client: prefs, server: prefs });
    handshake(pair);
    const before = pair.client.written;
    for (let i = 0; i < 50; i++) pair.client.transport.send(pair.clock.now, new Uint8Array(8000).fill(94));
    pair.pump();
    assert.ok(pair.client.written - before < 50 * 8000 / 4, `${name} compressed (${pair.client.written - before} bytes)`);
    assert.equal(pair.server.events.filter((e) => e.type === 'message').length, 50);
  }
});

test('unknown transport message numbers get UNIMPLEMENTED', () => {
  const { pair } = makePair();
  handshake(pair);
  // A message in the transport range that nobody defines.
  (pair.client.transport as unknown as { writePacket(p: Uint8Array): void }).writePacket(Uint8Array.of(15));
  pair.pump();
  assert.ok(pair.client.events.some((e) => e.type === 'unimplemented'));
  assert.ok(!disconnected(pair.server.events));
});

test('disconnect sends the reason to the peer', () => {
  const { pair } = makePair();
  handshake(pair);
  pair.server.transport.disconnect(pair.clock.now, DisconnectReason.BY_APPLICATION, 'bye');
  pair.pump();
  const d = disconnected(pair.client.events);
  assert.ok(d && d.fromPeer && d.error.reason === DisconnectReason.BY_APPLICATION && /bye/.test(d.error.message));
});

test('limits do not trigger a rekey before authentication', () => {
  const { pair, clock } = makePair({ clientOptions: { rekey: { bytes: 10_000 } } });
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  for (let i = 0; i < 20; i++) pair.client.transport.send(pair.clock.now, dataMessage(i, 1000));
  pair.client.transport.handleTimeout(clock.advance(2 * 3600_000));
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 1);
  pair.client.transport.setAuthenticated();
  pair.server.transport.setAuthenticated();
  pair.client.transport.send(pair.clock.now, dataMessage(99, 10));
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 2);
});

test('the server answers the client\'s first NEWKEYS with an IGNORE (an immediate TCP ACK), and only the first', () => {
  // OpenSSH's ssh writes NEWKEYS and SERVICE_REQUEST as two segments with
  // Nagle on; without a packet from us the second waits for a delayed ACK.
  const { pair } = makePair();
  const sent = () => (pair.server.transport as unknown as { packets: { nextSendSeq: number } }).packets.nextSendSeq;
  pair.pump();
  const done = pair.server.events.find((e) => e.type === 'keys-exchanged');
  assert.ok(done && done.type === 'keys-exchanged' && done.strict, 'strict kex: sequence numbers restart at NEWKEYS');
  // After the server's NEWKEYS: EXT_INFO, then the IGNORE.
  assert.equal(sent(), 2);
  handshake(pair);
  pair.client.transport.rekey(pair.clock.now);
  pair.pump();
  assert.equal(pair.server.events.filter((e) => e.type === 'keys-exchanged').length, 2);
  // Strict kex restarts the count at every NEWKEYS: nothing after the rekey's.
  assert.equal(sent(), 0);
});

test('bytes lent by the reader (a reused read buffer) may be overwritten once receive returns, in every phase and cipher', () => {
  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr']) {
    for (const chunk of [7, 1000, 70_000]) {
      const prefs = { cipher: [cipher], mac: ['hmac-sha2-256-etm@openssh.com'], kex: ['curve25519-sha256'] };
      const { pair } = makePair({ client: prefs, server: prefs, pump: { chunk, lend: true } });
      handshake(pair);
      assert.ok(pair.server.events.some((e) => e.type === 'keys-exchanged'), `${cipher}/${chunk}: handshake`);
      for (let i = 0; i < 30; i++) pair.client.transport.send(pair.clock.now, dataMessage(i, 5 + i * 1499));
      pair.pump();
      const got = pair.server.events.filter((e) => e.type === 'message');
      assert.equal(got.length, 30, `${cipher}/${chunk}`);
      got.forEach((e, i) => {
        assert.ok(e.type === 'message');
        assert.equal(e.payload.length, 5 + i * 1499);
        assert.equal(counterOf(e.payload), i);
        assert.ok(e.payload.subarray(5).every((b) => b === 0), `${cipher}/${chunk}: payload ${i} intact`);
      });
    }
  }
});
