// writePrivateKeyFile: the key file goes through writeFileAtomic with mode
// 0600, as ssh-keygen creates it, and reads back with loadPrivateKeyFile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nacre from '../../src/index.js';

test('writePrivateKeyFile writes 0600 and loadPrivateKeyFile reads it back; failures name the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-keywrite-'));
  try {
    const key = nacre.generatePrivateKey('ssh-ed25519');
    const path = join(dir, 'id_ed25519');
    nacre.writePrivateKeyFile(path, key, { passphrase: 'pw', rounds: 1, comment: 'me@here' });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const loaded = nacre.loadPrivateKeyFile(path, 'pw');
    assert.equal(loaded.comment, 'me@here');
    // an existing, too open file is tightened to 0600 when rewritten
    chmodSync(path, 0o644);
    nacre.writePrivateKeyFile(path, loaded, { passphrase: 'new', rounds: 1 });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(nacre.loadPrivateKeyFile(path, 'new').comment, 'me@here');
    // exclusive refuses to replace a key, as ssh-keygen asks before overwriting
    assert.throws(
      () => nacre.writePrivateKeyFile(path, key, { exclusive: true }),
      (e: unknown) => e instanceof nacre.KeyFileError && e.problem === 'io' && (e.cause as { code?: string }).code === 'EEXIST',
    );
    assert.equal(nacre.loadPrivateKeyFile(path, 'new').comment, 'me@here');
    nacre.writePrivateKeyFile(join(dir, 'fresh'), key, { exclusive: true });
    // a write into a missing directory is an io KeyFileError naming the path
    const bad = join(dir, 'missing', 'id');
    assert.throws(() => nacre.writePrivateKeyFile(bad, key), (e: unknown) => e instanceof nacre.KeyFileError && e.problem === 'io' && e.path === bad);
    // a file is a directory's place: nothing there is clobbered
    writeFileSync(join(dir, 'f'), 'x');
    assert.throws(() => nacre.writePrivateKeyFile(join(dir, 'f', 'id'), key), nacre.KeyFileError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
