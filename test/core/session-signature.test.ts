// The server's signature of the session identifier (the first exchange
// hash), kept by both transports for session-bind@openssh.com: it verifies
// with the host key, and a re-exchange does not replace it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from './transport-helpers.js';
import { verifySignature, blobKeyType } from '../../src/keys/index.js';

test('sessionSignature: the server\'s signature over the session id, the same on both sides, kept across a rekey', () => {
  const { pair } = makePair({ seed: 'session-signature' });
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.server.transport.acceptService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.client.transport.setAuthenticated();
  pair.server.transport.setAuthenticated();
  const client = pair.client.transport;
  const server = pair.server.transport;
  const signature = client.sessionSignature;
  assert.ok(signature && client.sessionId && client.hostKey);
  assert.deepEqual(server.sessionSignature, signature);
  const algorithm = new TextDecoder().decode(signature.subarray(4, 4 + new DataView(signature.buffer, signature.byteOffset).getUint32(0)));
  assert.equal(algorithm, blobKeyType(client.hostKey));
  assert.ok(verifySignature(client.hostKey, algorithm, client.sessionId, signature));
  client.rekey(pair.clock.now);
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 2);
  assert.deepEqual(client.sessionSignature, signature);
});
