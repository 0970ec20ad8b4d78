// ssh-keygen as the oracle for fingerprints and randomart: `ssh-keygen -lv -E
// sha256|md5` of many keys of every type against ours, byte for byte.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { fingerprint, randomart, describePublicKey, type FingerprintHash } from '../../src/keys/fingerprint.js';
import { parseOpenSshPublicKeyLine } from '../../src/keys/blob.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const dir = openssh ? tempDir('fpr') : '';
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// many small keys (the walk differs per digest), a few RSA sizes
const KINDS: { type: 'ed25519' | 'ecdsa' | 'rsa'; bits?: number; count: number }[] = [
  { type: 'ed25519', count: 12 },
  { type: 'ecdsa', bits: 256, count: 4 },
  { type: 'ecdsa', bits: 384, count: 4 },
  { type: 'ecdsa', bits: 521, count: 4 },
  { type: 'rsa', bits: 1024, count: 3 },
  { type: 'rsa', bits: 2048, count: 1 },
  { type: 'rsa', bits: 3072, count: 1 },
];

function keygenList(path: string, hash: FingerprintHash): { first: string; art: string } {
  const r = spawnSync(openssh!.keygen, ['-lv', '-E', hash, '-f', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  return { first: lines[0]!, art: lines.slice(1).join('\n') };
}

test('fingerprints and randomart equal ssh-keygen -lv for every key type, SHA256 and MD5', { skip, timeout: 120000 }, () => {
  let checked = 0;
  for (const kind of KINDS) {
    for (let i = 0; i < kind.count; i++) {
      const name = `${kind.type}${kind.bits ?? ''}-${i}`;
      const { privatePath, publicLine } = keygen(openssh!, dir, kind.type, name, kind.bits);
      const { blob } = parseOpenSshPublicKeyLine(publicLine);
      const { bits, shortName } = describePublicKey(blob);
      for (const hash of ['sha256', 'md5'] as const) {
        const theirs = keygenList(privatePath + '.pub', hash);
        assert.equal(theirs.first, `${bits} ${fingerprint(blob, hash)} ${name} (${shortName})`);
        assert.equal(randomart(blob, hash), theirs.art, `${name} ${hash}`);
        checked++;
      }
    }
  }
  assert.equal(checked, 2 * KINDS.reduce((n, k) => n + k.count, 0));
});
