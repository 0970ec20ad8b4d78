// PuTTY key files against puttygen, the oracle: keys puttygen writes (v2 and
// v3, plain and encrypted, each type) read back to the public key `puttygen -L`
// prints, and files Nacre writes are read by puttygen to the same key, private
// half included. One PPK key also logs in to OpenSSH's sshd.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rsaKeyPair } from '../core/rsa-key.js';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { findOpenSsh, startSshd, tempDir } from './openssh.js';
import { connect } from '../../src/client/client.js';
import { formatOpenSshPublicKeyLine, formatPpkPrivateKey, loadPrivateKey, parsePpkPrivateKey, type PpkVersion } from '../../src/keys/index.js';

function findPuttygen(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, 'puttygen');
    if (dir && existsSync(p)) return p;
  }
  const msg = 'puttygen not found: PPK INTEROP TESTS ARE SKIPPED. Run scripts/install-test-peers.sh (it installs putty-tools).';
  if (process.env.CI) throw new Error(msg + ' (CI must run them)');
  console.warn('\n' + '!'.repeat(80) + '\n' + msg + '\n' + '!'.repeat(80) + '\n');
  return null;
}

const puttygen = findPuttygen();
const skip = puttygen ? false : 'puttygen not installed (run scripts/install-test-peers.sh)';
const dir = tempDir('ppk');
const PASSPHRASE = 'correct horse battery';
const passFile = join(dir, 'pass');
const emptyFile = join(dir, 'empty');
writeFileSync(passFile, PASSPHRASE + '\n');
writeFileSync(emptyFile, '\n');

after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): string {
  const r = spawnSync(puttygen!, args, { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `puttygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const TYPES: Array<[string, string[]]> = [
  ['ed25519', ['-t', 'ed25519']],
  ['nistp256', ['-t', 'ecdsa', '-b', '256']],
  ['nistp384', ['-t', 'ecdsa', '-b', '384']],
  ['nistp521', ['-t', 'ecdsa', '-b', '521']],
  ['rsa', ['-t', 'rsa', '-b', '2048']],
];

test('keys puttygen writes (v2, v3; plain, encrypted) read to the public key puttygen -L prints', { skip, timeout: 120000 }, () => {
  for (const [name, genArgs] of TYPES) {
    const plain3 = join(dir, `${name}.ppk`);
    run([...genArgs, '-C', `puttygen ${name} key`, '--new-passphrase', emptyFile, '-o', plain3]);
    const expected = run(['-L', plain3]).trim();
    const variants: Array<[string, string[]]> = [
      ['v3 plain', []],
      ['v2 plain', ['-P', '--new-passphrase', emptyFile, '--ppk-param', 'version=2']],
      ['v2 encrypted', ['-P', '--new-passphrase', passFile, '--ppk-param', 'version=2']],
      // cheap Argon2 settings keep the pure-JS derivation quick; the default is tested below
      ['v3 Argon2id', ['-P', '--new-passphrase', passFile, '--ppk-param', 'kdf=argon2id,memory=256,passes=2']],
      ['v3 Argon2i', ['-P', '--new-passphrase', passFile, '--ppk-param', 'kdf=argon2i,memory=128,passes=1,parallel=2']],
      ['v3 Argon2d', ['-P', '--new-passphrase', passFile, '--ppk-param', 'kdf=argon2d,memory=64,passes=3']],
    ];
    for (const [variant, args] of variants) {
      const file = args.length === 0 ? plain3 : join(dir, `${name}-${variant.replace(/ /g, '-')}.ppk`);
      if (args.length > 0) run([plain3, ...args, '-o', file]);
      const key = parsePpkPrivateKey(readFileSync(file), PASSPHRASE);
      assert.equal(formatOpenSshPublicKeyLine(key.publicBlob, key.comment), expected, `${name} ${variant}`);
      assert.equal(key.encrypted, variant.includes('Argon') || variant.includes('encrypted'), `${name} ${variant}`);
      // the private half is the one puttygen exports to OpenSSH's format
      const openssh = join(dir, `${name}-${variant.replace(/ /g, '-')}.openssh`);
      run([file, '--old-passphrase', passFile, '-P', '--new-passphrase', emptyFile, '-O', 'private-openssh-new', '-o', openssh]);
      assert.deepEqual(key.keyObject.export({ format: 'jwk' }), loadPrivateKey(readFileSync(openssh), PASSPHRASE).keyObject.export({ format: 'jwk' }), `${name} ${variant}`);
    }
  }
});

test("a key encrypted with puttygen's default Argon2 settings reads", { skip, timeout: 60000 }, () => {
  const file = join(dir, 'default-kdf.ppk');
  run(['-t', 'ed25519', '-C', 'default kdf', '--new-passphrase', passFile, '-o', file]);
  const key = parsePpkPrivateKey(readFileSync(file), PASSPHRASE);
  assert.equal(key.argon2?.flavour, 'Argon2id');
  assert.equal(key.argon2?.memoryKiB, 8192);
  assert.equal(formatOpenSshPublicKeyLine(key.publicBlob, key.comment), run(['-L', file]).trim());
});

function nodeKeys(): Array<[string, KeyObject]> {
  return [
    ['ed25519', generateKeyPairSync('ed25519').privateKey],
    ['nistp256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey],
    ['nistp384', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey],
    ['nistp521', generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey],
    ['rsa', rsaKeyPair(2048).privateKey],
  ];
}

test('PPK files Nacre writes are read by puttygen to the same public and private key', { skip, timeout: 120000 }, () => {
  for (const [name, key] of nodeKeys()) {
    for (const version of [2, 3] as PpkVersion[]) {
      for (const passphrase of [undefined, PASSPHRASE]) {
        const label = `${name} v${version} ${passphrase ? 'encrypted' : 'plain'}`;
        const file = join(dir, `ours-${label.replace(/ /g, '-')}.ppk`);
        // the default Argon2 settings once (nistp256 v3), cheap ones otherwise
        const argon2 = name === 'nistp256' ? undefined : { memoryKiB: 64, passes: 1 };
        const ppk = formatPpkPrivateKey(key, { version, comment: `nacre ${label}`, ...(passphrase ? { passphrase } : {}), ...(argon2 ? { argon2 } : {}) });
        writeFileSync(file, ppk);
        const ours = parsePpkPrivateKey(ppk, passphrase);
        const publicLine = run([file, '--old-passphrase', passFile, '-O', 'public-openssh']).trim();
        assert.equal(publicLine, formatOpenSshPublicKeyLine(ours.publicBlob, `nacre ${label}`), label);
        const openssh = join(dir, `ours-${label.replace(/ /g, '-')}.openssh`);
        run([file, '--old-passphrase', passFile, '-P', '--new-passphrase', emptyFile, '-O', 'private-openssh-new', '-o', openssh]);
        assert.deepEqual(loadPrivateKey(readFileSync(openssh), PASSPHRASE).keyObject.export({ format: 'jwk' }), key.export({ format: 'jwk' }), label);
      }
    }
  }
});

test('puttygen refuses our encrypted PPK with a wrong passphrase (the MAC is checked)', { skip, timeout: 30000 }, () => {
  const file = join(dir, 'wrong.ppk');
  writeFileSync(file, formatPpkPrivateKey(generateKeyPairSync('ed25519').privateKey, { passphrase: 'not the one', argon2: { memoryKiB: 64, passes: 1 } }));
  const r = spawnSync(puttygen!, [file, '--old-passphrase', passFile, '-O', 'private-openssh-new', '-o', join(dir, 'wrong.out')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});

const openssh = findOpenSsh();
test('a puttygen-written encrypted PPK key logs in to sshd', { skip: skip || (openssh ? false : 'OpenSSH not installed'), timeout: 60000 }, async () => {
  const file = join(dir, 'login.ppk');
  run(['-t', 'ecdsa', '-b', '384', '-C', 'login', '--new-passphrase', passFile, '--ppk-param', 'memory=256,passes=2', '-o', file]);
  const sshd = await startSshd(openssh!, [], { authorizedKeys: run(['-L', file]) });
  try {
    const client = await connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: userInfo().username,
      privateKey: readFileSync(file),
      passphrase: PASSPHRASE,
      verifyHostKey: () => true,
    });
    try {
      assert.equal((await client.exec('echo ppk')).stdout, 'ppk\n');
    } finally {
      await client.close();
    }
  } finally {
    await sshd.stop();
  }
});
