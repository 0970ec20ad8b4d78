import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, dataMessage, hostKey, clientKexInit } from './transport-helpers.js';
import { Transport } from '../../src/core/transport/transport.js';
import { PacketSealer, NO_PROTECTION } from '../../src/core/transport/packet-protection.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { Ignore, Debug } from '../../src/messages/transport.js';
import { seededRandom } from '../../src/testing/random.js';
import { DisconnectReason, MacError, ProtocolError, VersionError } from '../../src/errors.js';
import type { TransportEvent } from '../../src/core/transport/events.js';

const enc = (s: string) => new TextEncoder().encode(s);

function server(): Transport {
  return new Transport({
    role: 'server',
    random: seededRandom('bad'),
    now: 0,
    algorithms: defaultAlgorithmLists(),
    hostKeys: [hostKey('ssh-ed25519')],
  });
}

function drain(t: Transport): TransportEvent[] {
  const out: TransportEvent[] = [];
  for (let e = t.pollEvent(); e; e = t.pollEvent()) out.push(e);
  return out;
}

function disconnectOf(t: Transport) {
  const e = drain(t).find((x) => x.type === 'disconnected');
  assert.ok(e && e.type === 'disconnected', 'expected a disconnected event');
  return e;
}

const plain = new PacketSealer(NO_PROTECTION, seededRandom('plain'));


test('garbage version line: DISCONNECT-worthy VersionError, no throw', () => {
  const t = server();
  t.receive(0, enc('HELLO THERE\r\n'));
  const d = disconnectOf(t);
  assert.ok(d.error instanceof VersionError);
  assert.equal(d.error.reason, DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED);
  t.receive(0, enc('more bytes are ignored'));
  assert.equal(t.isClosed, true);
});

test('oversize packet length is refused before anything is allocated', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-evil\r\n'));
  t.receive(0, Uint8Array.of(0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 0));
  const d = disconnectOf(t);
  assert.ok(d.error instanceof ProtocolError);
  assert.match(d.error.message, /exceeds the limit/);
  assert.equal(d.error.reason, DisconnectReason.PROTOCOL_ERROR);
  // The DISCONNECT went out on the wire after the version line and KEXINIT.
  const out: Uint8Array[] = [];
  for (let b = t.pollTransmit(); b; b = t.pollTransmit()) out.push(b);
  const last = out[out.length - 1]!;
  assert.equal(last[5], 1, 'last packet is DISCONNECT');
});

test('a packet length that breaks block alignment is refused', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-evil\r\n'));
  t.receive(0, Uint8Array.of(0, 0, 0, 13, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  assert.match(disconnectOf(t).error.message, /multiple of the cipher block size/);
});

test('truncated packet then EOF: connection lost, no crash', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-evil\r\n'));
  const packet = plain.seal(0, clientKexInit(true));
  t.receive(0, packet.subarray(0, packet.length - 3));
  assert.equal(drain(t).length, 0);
  t.connectionLost(0);
  assert.equal(disconnectOf(t).error.reason, DisconnectReason.CONNECTION_LOST);
});

test('strict kex: IGNORE before KEXINIT is fatal', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-evil\r\n'));
  t.receive(0, plain.seal(0, Ignore.encode({ data: new Uint8Array(4) })));
  t.receive(0, plain.seal(1, clientKexInit(true)));
  const d = disconnectOf(t);
  assert.match(d.error.message, /strict/);
  assert.equal(d.error.reason, DisconnectReason.PROTOCOL_ERROR);
});

test('strict kex: DEBUG during the initial exchange is fatal', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-evil\r\n'));
  t.receive(0, plain.seal(0, clientKexInit(true)));
  t.receive(0, plain.seal(1, Debug.encode({ alwaysDisplay: false, text: 'x', language: '' })));
  assert.match(disconnectOf(t).error.message, /not allowed during strict initial key exchange/);
});

test('without strict kex, IGNORE before KEXINIT is tolerated', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-old\r\n'));
  t.receive(0, plain.seal(0, Ignore.encode({ data: new Uint8Array(4) })));
  t.receive(0, plain.seal(1, clientKexInit(false)));
  assert.ok(!drain(t).some((e) => e.type === 'disconnected'));
});

test('upper-layer message before key exchange is a protocol error', () => {
  const t = server();
  t.receive(0, enc('SSH-2.0-old\r\n'));
  t.receive(0, plain.seal(0, dataMessage(1)));
  assert.match(disconnectOf(t).error.message, /before the first key exchange/);
});

test('a corrupted MAC ends the connection with MAC_ERROR', () => {
  for (const cipher of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes128-ctr']) {
    let armed = false;
    const { pair } = makePair({
      client: { cipher: [cipher] },
      pump: {
        tamper: (from, bytes) => {
          // A packet may leave as several chunks (length, body, tag): corrupt a body or tag chunk.
          if (!armed || from !== 'client' || bytes.length < 16) return bytes;
          armed = false;
          const copy = Uint8Array.from(bytes);
          copy[copy.length - 1]! ^= 1;
          return copy;
        },
      },
    });
    pair.pump();
    armed = true;
    pair.client.transport.send(pair.clock.now, dataMessage(1, 200));
    pair.pump();
    const d = pair.server.events.find((e) => e.type === 'disconnected');
    assert.ok(d && d.type === 'disconnected', cipher);
    assert.ok(d.error instanceof MacError, `${cipher}: ${d.error.message}`);
    assert.equal(d.error.reason, DisconnectReason.MAC_ERROR);
    const c = pair.client.events.find((e) => e.type === 'disconnected');
    assert.ok(c && c.type === 'disconnected' && c.fromPeer && c.error.reason === DisconnectReason.MAC_ERROR, `${cipher}: client told`);
  }
});

test('random garbage after the version never throws', () => {
  const random = seededRandom('fuzz');
  for (let i = 0; i < 300; i++) {
    const t = server();
    t.receive(0, enc('SSH-2.0-fuzz\r\n'));
    const junk = random(1 + (random(1)[0]! % 200));
    assert.doesNotThrow(() => t.receive(0, junk));
    t.connectionLost(0);
    const d = drain(t).find((e) => e.type === 'disconnected');
    assert.ok(d);
  }
});

test('mutated KEXINIT payloads never throw', () => {
  const random = seededRandom('kexinit-fuzz');
  const base = clientKexInit(true);
  for (let i = 0; i < 300; i++) {
    const t = server();
    t.receive(0, enc('SSH-2.0-fuzz\r\n'));
    const m = Uint8Array.from(base);
    for (let k = 0; k < 4; k++) {
      const r = random(3);
      m[((r[0]! << 8) | r[1]!) % m.length] = r[2]!;
    }
    assert.doesNotThrow(() => t.receive(0, plain.seal(0, m)));
  }
});
