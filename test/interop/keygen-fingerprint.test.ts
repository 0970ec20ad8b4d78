// ssh-keygen as the oracle for fingerprints and randomart: `ssh-keygen -lv -E
// sha256|md5` of many keys of every type against ours, byte for byte.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { certifiedKey, fingerprint, randomart, describePublicKey, type FingerprintHash } from '../../src/keys/fingerprint.js';
import { formatOpenSshPublicKeyLine, parseOpenSshPublicKeyLine } from '../../src/keys/blob.js';
import { Writer } from '../../src/wire/writer.js';

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

test('security-key public keys built per PROTOCOL.u2f: ssh-keygen -lv prints our fingerprint and randomart', { skip }, () => {
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const point = new Uint8Array([4, ...Buffer.from(ec.x!, 'base64url'), ...Buffer.from(ec.y!, 'base64url')]);
  const blobs: [string, Uint8Array][] = [
    ['ED25519-SK', new Writer().string('sk-ssh-ed25519@openssh.com').string(Buffer.from(ed.x!, 'base64url')).string('ssh:').finish()],
    ['ECDSA-SK', new Writer().string('sk-ecdsa-sha2-nistp256@openssh.com').string('nistp256').string(point).string('ssh:git').finish()],
  ];
  for (const [shortName, blob] of blobs) {
    const path = join(dir, `${shortName}.pub`);
    writeFileSync(path, formatOpenSshPublicKeyLine(blob, 'token') + '\n');
    for (const hash of ['sha256', 'md5'] as const) {
      const theirs = keygenList(path, hash);
      assert.equal(theirs.first, `256 ${fingerprint(blob, hash)} token (${shortName})`);
      assert.equal(randomart(blob, hash), theirs.art);
    }
  }
});

test('certificates (of every key type, sk- included): ssh-keygen -lv shows the certified key fingerprint under a -CERT title, as we do', { skip, timeout: 60000 }, () => {
  const ca = keygen(openssh!, dir, 'ed25519', 'ca').privatePath;
  const paths = [
    keygen(openssh!, dir, 'ed25519', 'c-ed').privatePath + '.pub',
    keygen(openssh!, dir, 'ecdsa', 'c-ec384', 384).privatePath + '.pub',
    keygen(openssh!, dir, 'rsa', 'c-rsa', 2048).privatePath + '.pub',
    join(dir, 'ED25519-SK.pub'),
    join(dir, 'ECDSA-SK.pub'),
  ];
  for (const pub of paths) {
    const r = spawnSync(openssh!.keygen, ['-q', '-s', ca, '-I', 'id', '-n', 'u', pub], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const certPath = pub.replace(/\.pub$/, '-cert.pub');
    const cert = parseOpenSshPublicKeyLine(readFileSync(certPath, 'utf8').trim());
    const plain = parseOpenSshPublicKeyLine(readFileSync(pub, 'utf8').trim());
    assert.deepEqual(certifiedKey(cert.blob), plain.blob);
    for (const hash of ['sha256', 'md5'] as const) {
      const theirs = keygenList(certPath, hash);
      const { bits, shortName } = describePublicKey(cert.blob);
      assert.match(shortName, /-CERT$/);
      assert.equal(theirs.first, `${bits} ${fingerprint(cert.blob, hash)} ${cert.comment} (${shortName})`);
      assert.equal(randomart(cert.blob, hash), theirs.art, `${certPath} ${hash}`);
    }
  }
});
