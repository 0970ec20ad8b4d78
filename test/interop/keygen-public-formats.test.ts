// ssh-keygen as the oracle for public key formats: `ssh-keygen -e -m
// RFC4716|PKCS8|PEM` equals what we write, byte for byte; we read what it
// writes; `ssh-keygen -i -m ...` of what we write gives back the key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import {
  formatPemPublicKey,
  formatPkcs8PublicKey,
  formatRfc4716PublicKey,
  parsePublicKeyText,
  rfc4716ConversionComment,
} from '../../src/keys/public-formats.js';
import { parseOpenSshPublicKeyLine } from '../../src/keys/blob.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const dir = openssh ? tempDir('pubfmt') : '';
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): string {
  const r = spawnSync(openssh!.keygen, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ssh-keygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const KEYS: { type: 'ed25519' | 'ecdsa' | 'rsa'; bits?: number }[] = [
  { type: 'ed25519' },
  { type: 'ecdsa', bits: 256 },
  { type: 'ecdsa', bits: 384 },
  { type: 'ecdsa', bits: 521 },
  { type: 'rsa', bits: 1024 },
  { type: 'rsa', bits: 2048 },
];

for (const k of KEYS) {
  const name = `${k.type}${k.bits ?? ''}`;
  test(`${name}: ssh-keygen -e and -i agree with our public key formats`, { skip, timeout: 60000 }, () => {
    const { privatePath, publicLine } = keygen(openssh!, dir, k.type, name, k.bits);
    const pubPath = privatePath + '.pub';
    const { blob } = parseOpenSshPublicKeyLine(publicLine);
    const user = userInfo().username;
    // ssh-keygen names the host by gethostname(), as os.hostname() does
    const ours: [string, string][] = [['RFC4716', formatRfc4716PublicKey(blob, rfc4716ConversionComment(blob, user, hostname()))]];
    // ssh-keygen exports no Ed25519 key as PEM or PKCS#8
    if (k.type !== 'ed25519') ours.push(['PKCS8', formatPkcs8PublicKey(blob)], ['PEM', formatPemPublicKey(blob)]);
    for (const [mode, text] of ours) {
      const theirs = run(['-e', '-m', mode, '-f', pubPath]);
      assert.equal(text, theirs, `${name} -e -m ${mode}`);
      assert.deepEqual(parsePublicKeyText(theirs).blob, blob);
      // ssh-keygen -i -m PEM reads only PKCS#1, so only RSA goes back that way
      if (mode === 'PEM' && k.type !== 'rsa') continue;
      const file = join(dir, `${name}.${mode}`);
      writeFileSync(file, text);
      const imported = parseOpenSshPublicKeyLine(run(['-i', '-m', mode, '-f', file]).trim());
      assert.deepEqual(imported.blob, blob, `${name} -i -m ${mode}`);
    }
  });
}

test('ssh-keygen -i reads an RFC 4716 key of ours with a long, continued header', { skip }, () => {
  const { publicLine } = keygen(openssh!, dir, 'ed25519', 'continued');
  const { blob } = parseOpenSshPublicKeyLine(publicLine);
  const b64 = Buffer.from(blob).toString('base64');
  const text = `---- BEGIN SSH2 PUBLIC KEY ----\nComment: "first part \\\nsecond part"\nx-tag: v\n${b64}\n---- END SSH2 PUBLIC KEY ----\n`;
  const file = join(dir, 'continued.rfc');
  writeFileSync(file, text);
  assert.deepEqual(parseOpenSshPublicKeyLine(run(['-i', '-m', 'RFC4716', '-f', file]).trim()).blob, blob);
  const ours = parsePublicKeyText(text);
  assert.equal(ours.comment, 'first part second part');
  assert.deepEqual(ours.blob, blob);
});

test('certificates: ssh-keygen -e writes the whole certificate as RFC 4716 and its key as PKCS#8 / PEM, as we do', { skip, timeout: 60000 }, () => {
  const ca = keygen(openssh!, dir, 'ed25519', 'ca').privatePath;
  for (const [type, bits] of [['ecdsa', 256], ['rsa', 2048], ['ed25519', undefined]] as const) {
    const pub = keygen(openssh!, dir, type, `cert-${type}`, bits).privatePath + '.pub';
    const signed = spawnSync(openssh!.keygen, ['-q', '-s', ca, '-I', 'id', '-n', 'u', pub], { encoding: 'utf8' });
    assert.equal(signed.status, 0, signed.stderr);
    const certPath = pub.replace(/\.pub$/, '-cert.pub');
    const cert = parsePublicKeyText(readFileSync(certPath, 'utf8'));
    const plain = parsePublicKeyText(readFileSync(pub, 'utf8'));
    assert.equal(cert.format, 'openssh');
    const rfc = run(['-e', '-m', 'RFC4716', '-f', certPath]);
    assert.equal(formatRfc4716PublicKey(cert.blob, rfc4716ConversionComment(cert.blob, userInfo().username, hostname())), rfc);
    assert.deepEqual(parsePublicKeyText(rfc).blob, cert.blob);
    if (type === 'ed25519') continue;
    assert.equal(formatPkcs8PublicKey(cert.blob), run(['-e', '-m', 'PKCS8', '-f', certPath]));
    assert.equal(formatPemPublicKey(cert.blob), run(['-e', '-m', 'PEM', '-f', certPath]));
    assert.deepEqual(parsePublicKeyText(formatPemPublicKey(cert.blob)).blob, plain.blob);
  }
});
