// PuTTY key files from disk: loadPrivateKeyFile and signerFromPrivateKeyPath
// recognise them, and their errors name the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPpkPrivateKey, KeyFileError, verifySignature } from '../../src/keys/index.js';
import { loadPrivateKeyFile, signerFromPrivateKeyPath } from '../../src/io/node/key-files.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-ppk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('loadPrivateKeyFile and signerFromPrivateKeyPath read a .ppk file', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const path = join(dir, 'id.ppk');
  writeFileSync(path, formatPpkPrivateKey(key, { passphrase: 'pw', comment: 'from disk', argon2: { memoryKiB: 64, passes: 1 } }), { mode: 0o600 });
  const loaded = loadPrivateKeyFile(path, 'pw');
  assert.equal(loaded.format, 'ppk');
  assert.equal(loaded.comment, 'from disk');
  const signer = signerFromPrivateKeyPath(path, 'pw');
  const data = new TextEncoder().encode('data');
  assert.ok(verifySignature(loaded.publicBlob, 'ecdsa-sha2-nistp256', data, signer.sign('ecdsa-sha2-nistp256', data)));
  assert.throws(
    () => loadPrivateKeyFile(path, 'wrong'),
    (err: unknown) => err instanceof KeyFileError && err.problem === 'wrong-passphrase' && err.path === path && err.message.startsWith(path),
  );
});
