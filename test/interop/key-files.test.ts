// Private key files both ways with OpenSSH's ssh-keygen as the oracle: for
// every key type, every format (openssh, PEM, PKCS#8), plain and with a
// passphrase, and every cipher `ssh -Q cipher` lists (ssh-keygen -Z takes
// each), files ssh-keygen writes load here as the same public key, and files
// written here are read by `ssh-keygen -y`, fingerprinted by `ssh-keygen -l`,
// re-encrypted by `ssh-keygen -p` and re-commented by `ssh-keygen -c`.
// bcrypt runs 2 rounds in most cases (JS bcrypt_pbkdf costs ~20 ms a round);
// one case each way uses ssh-keygen's -a 16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, tempDir } from './openssh.js';
import {
  KEY_FILE_CIPHER_NAMES,
  encodePublicKey,
  fingerprintSha256,
  generatePrivateKey,
  loadPrivateKey,
  parseOpenSshPublicKeyLine,
  writePrivateKey,
  type HostKeyType,
  type PrivateKeyFileFormat,
} from '../../src/keys/index.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
// ssh-keygen wants at least five characters
const PASS = 'correct horse';

const TYPES: readonly [HostKeyType, string[]][] = [
  ['ssh-ed25519', ['-t', 'ed25519']],
  ['ecdsa-sha2-nistp256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa-sha2-nistp384', ['-t', 'ecdsa', '-b', '384']],
  ['ecdsa-sha2-nistp521', ['-t', 'ecdsa', '-b', '521']],
  ['ssh-rsa', ['-t', 'rsa', '-b', '2048']],
];

function keygen(args: string[]): string {
  const r = spawnSync(openssh!.keygen, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The ciphers OpenSSH offers (ssh -Q cipher), each of which ssh-keygen -Z takes for a key file. */
function opensshCiphers(): string[] {
  return execFileSync(openssh!.ssh, ['-Q', 'cipher'], { encoding: 'utf8' }).trim().split('\n');
}

/** `SHA256:...` as ssh-keygen -l prints it for a file. */
function keygenFingerprint(path: string): string {
  return keygen(['-l', '-E', 'sha256', '-f', path]).split(' ')[1]!;
}

test('every cipher OpenSSH offers is one Nacre reads and writes in key files', { skip }, () => {
  for (const cipher of opensshCiphers()) assert.ok(KEY_FILE_CIPHER_NAMES.includes(cipher), cipher);
});

test('keys ssh-keygen writes, in every format and cipher, load as the same public key and fingerprint', { skip }, () => {
  const dir = tempDir('keyfiles-read');
  try {
    const ciphers = opensshCiphers();
    let n = 0;
    for (const [type, args] of TYPES) {
      const base = join(dir, type);
      keygen(['-q', ...args, '-N', '', '-C', `${type} comment`, '-f', base]);
      const pub = parseOpenSshPublicKeyLine(readFileSync(base + '.pub', 'utf8'));
      const fingerprint = keygenFingerprint(base + '.pub');
      assert.equal(fingerprintSha256(pub.blob), fingerprint);
      // [label, ssh-keygen -p arguments, passphrase]
      const variants: [string, string[], string][] = [
        ['openssh plain', [], ''],
        ['PEM plain', ['-m', 'PEM'], ''],
        ['PEM encrypted', ['-m', 'PEM'], PASS],
        ['PKCS8 plain', ['-m', 'PKCS8'], ''],
        ['PKCS8 encrypted', ['-m', 'PKCS8'], PASS],
        ...ciphers.map((c): [string, string[], string] => [`openssh ${c}`, ['-Z', c, '-a', '2'], PASS]),
      ];
      if (type === 'ssh-ed25519') variants.push(['openssh -a 16', ['-a', '16'], PASS]);
      for (const [label, extra, pass] of variants) {
        const name = `${type} ${label}`;
        const path = join(dir, `r${n++}`);
        copyFileSync(base, path);
        keygen(['-q', '-p', '-P', '', '-N', pass, ...extra, '-f', path]);
        const text = readFileSync(path, 'utf8');
        const key = loadPrivateKey(text, pass || undefined);
        assert.deepEqual(key.publicBlob, pub.blob, name);
        assert.equal(key.keyType, type, name);
        assert.equal(key.encrypted, pass !== '', name);
        assert.equal(fingerprintSha256(key.publicBlob), fingerprint, name);
        // ssh-keygen writes Ed25519 in its own format whatever -m says
        if (text.startsWith('-----BEGIN OPENSSH')) assert.equal(key.comment, `${type} comment`, name);
        // the legacy encrypted PEM (Proc-Type/DEK-Info) is what ssh-keygen -m PEM -N writes
        if (label === 'PEM encrypted' && type !== 'ssh-ed25519') assert.match(text, /Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,/, name);
        if (label === 'PKCS8 encrypted' && type !== 'ssh-ed25519') assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/, name);
        if (extra.includes('-Z')) {
          // the file really is encrypted with that cipher (its name is in the header)
          const cipher = extra[extra.indexOf('-Z') + 1]!;
          const der = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
          assert.equal(der.subarray(19, 19 + cipher.length).toString('latin1'), cipher, name);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keys written here are read by ssh-keygen -y and -l, in every format and cipher', { skip }, () => {
  const dir = tempDir('keyfiles-write');
  try {
    let n = 0;
    for (const [type] of TYPES) {
      const key = generatePrivateKey(type, { bits: type === 'ssh-rsa' ? 2048 : undefined });
      const blob = encodePublicKey(key);
      const base64 = Buffer.from(blob).toString('base64');
      const comment = `nacre ${type}`;
      const pemFormats: PrivateKeyFileFormat[] = type === 'ssh-ed25519' ? ['pkcs8'] : ['pem', 'pkcs8'];
      // [label, write options]
      const variants: [string, Parameters<typeof writePrivateKey>[1] & object][] = [
        ['openssh plain', { comment }],
        ...KEY_FILE_CIPHER_NAMES.map((cipher): [string, Parameters<typeof writePrivateKey>[1] & object] => [`openssh ${cipher}`, { comment, passphrase: PASS, cipher, rounds: 2 }]),
        ...pemFormats.flatMap((format): [string, Parameters<typeof writePrivateKey>[1] & object][] => [
          [`${format} plain`, { format }],
          [`${format} encrypted`, { format, passphrase: PASS }],
        ]),
      ];
      if (type === 'ssh-ed25519') variants.push(['openssh 16 rounds', { comment, passphrase: PASS, rounds: 16 }]);
      for (const [label, options] of variants) {
        const name = `${type} ${label}`;
        const path = join(dir, `w${n++}`);
        writeFileSync(path, writePrivateKey(key, options), { mode: 0o600 });
        const pass = typeof options.passphrase === 'string' ? options.passphrase : '';
        const printed = keygen(['-y', '-P', pass, '-f', path]).trim().split(' ');
        assert.equal(printed[0], type, name);
        assert.equal(printed[1], base64, name);
        if (options.format === undefined) assert.equal(printed.slice(2).join(' '), comment, name);
        // without a .pub next to it, ssh-keygen -l reads the key file itself (PEM only when plain)
        if (options.format === undefined || !pass) assert.equal(keygenFingerprint(path), fingerprintSha256(blob), name);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ssh-keygen -p and -c work on files written here, and the results load here', { skip }, () => {
  const dir = tempDir('keyfiles-change');
  try {
    for (const [type] of TYPES.slice(0, 2)) {
      const key = generatePrivateKey(type);
      const path = join(dir, type);
      writeFileSync(path, writePrivateKey(key, { passphrase: PASS, rounds: 2, comment: 'before' }), { mode: 0o600 });
      keygen(['-q', '-p', '-P', PASS, '-N', 'another one', '-a', '2', '-f', path]);
      assert.equal(loadPrivateKey(readFileSync(path), 'another one').comment, 'before');
      keygen(['-q', '-c', '-P', 'another one', '-C', 'after', '-f', path]);
      const back = loadPrivateKey(readFileSync(path), 'another one');
      assert.equal(back.comment, 'after');
      assert.deepEqual(back.publicBlob, encodePublicKey(key));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
