// The public key in an openssh-key-v1 file's clear header (nacre-keygen -l on
// an encrypted key without its .pub): read without the passphrase, and every
// cut, flipped or made-up file gives only a KeyFileError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyFileError, encodePublicKey, generatePrivateKey, openSshPublicKeyFromPrivate, writePrivateKey } from '../../src/keys/index.js';
import { mutations } from './fuzz-helpers.js';

function body(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}
function armor(data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64').replace(/.{70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

test('the header key of an encrypted file is the key, with no passphrase asked; other files are refused', () => {
  for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp384', 'ssh-rsa'] as const) {
    const key = generatePrivateKey(type, type === 'ssh-rsa' ? { bits: 2048 } : {});
    const text = writePrivateKey(key, { passphrase: 'secret', rounds: 1 });
    assert.deepEqual(openSshPublicKeyFromPrivate(text), encodePublicKey(key), type);
  }
  const pem = writePrivateKey(generatePrivateKey('ssh-ed25519'), { format: 'pkcs8' });
  assert.throws(() => openSshPublicKeyFromPrivate(pem), (e: unknown) => e instanceof KeyFileError && e.problem === 'not-a-private-key');
  assert.throws(() => openSshPublicKeyFromPrivate('hello'), KeyFileError);
});

test('cut, flipped and made-up openssh-key-v1 headers give only KeyFileError', () => {
  const samples = [writePrivateKey(generatePrivateKey('ssh-ed25519'), { passphrase: 'p', rounds: 1 }), writePrivateKey(generatePrivateKey('ecdsa-sha2-nistp256'))].map(body);
  let n = 0;
  for (const input of mutations('openssh-header', samples, 5000)) {
    n++;
    try {
      openSshPublicKeyFromPrivate(armor(input));
    } catch (err) {
      if (!(err instanceof KeyFileError)) assert.fail(`${String(err)} for ${Buffer.from(input).toString('hex')}`);
    }
  }
  assert.ok(n >= 5000);
});
