// verifySignature is fed signature blobs straight from the wire: mutated ones
// must never verify and never throw, for every key type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateHostKey, verifySignature, type HostKeyType } from '../../src/keys/index.js';
import { fuzz } from './fuzz-helpers.js';

const data = new TextEncoder().encode('session data');

test('fuzz: mutated plain signatures never verify and never throw', () => {
  const types: [HostKeyType, string, number?][] = [
    ['ssh-ed25519', 'ssh-ed25519'],
    ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
    ['ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp521'],
    ['ssh-rsa', 'rsa-sha2-256', 1024],
  ];
  let total = 0;
  for (const [type, algorithm, bits] of types) {
    const key = generateHostKey(type, bits);
    const good = key.sign(algorithm, data) as Uint8Array;
    assert.equal(verifySignature(key.publicBlob, algorithm, data, good), true);
    const same = (a: Uint8Array) => a.length === good.length && a.every((x, i) => x === good[i]);
    total += fuzz(`sig-${type}`, [good], 1000, (s) => {
      const ok = verifySignature(key.publicBlob, algorithm, data, s);
      if (ok && !same(s)) throw new Error('a changed signature verified');
      // the key blob from the wire is mutated too
      verifySignature(s, algorithm, data, good);
    }, () => false);
  }
  assert.ok(total > 4000);
});
