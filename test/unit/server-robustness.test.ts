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
