// The Nacre client logging in to OpenSSH's sshd with a user certificate
// (TrustedUserCAKeys, no authorized_keys), certificates signed by Nacre and
// by ssh-keygen, and sshd refusing the ones it should.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { connect } from '../../src/client/client.js';
import { AuthenticationError } from '../../src/errors.js';
import { signerFromPrivateKeyFile, type KeySigner } from '../../src/keys/index.js';
import { certificateSigner, signCertificate, type CertificateRequest } from '../../src/keys/certificate.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;

let sshd: Sshd | undefined;
let dir = '';
const ca: Record<string, KeySigner> = {};
const keys: Record<string, KeySigner> = {};
const keyPaths: Record<string, string> = {};

before(async () => {
  if (!openssh) return;
  dir = tempDir('client-cert');
  for (const [name, type, bits] of [['ca', 'ed25519', undefined], ['ca_rsa', 'rsa', 2048], ['ed25519', 'ed25519', undefined], ['rsa', 'rsa', 2048], ['p384', 'ecdsa', 384]] as const) {
    const k = keygen(openssh, dir, type, name, bits);
    keyPaths[name] = k.privatePath;
    (name.startsWith('ca') ? ca : keys)[name] = signerFromPrivateKeyFile(readFileSync(k.privatePath));
  }
  const trusted = join(dir, 'trusted_ca');
  writeFileSync(trusted, [readFileSync(keyPaths.ca + '.pub', 'utf8'), readFileSync(keyPaths.ca_rsa + '.pub', 'utf8')].join(''));
  sshd = await startSshd(openssh, [`TrustedUserCAKeys ${trusted}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no'], { hostKeyTypes: ['ed25519'] });
});

after(async () => {
  await sshd?.stop();
});

function nacreCert(subject: string, caName: string, over: Partial<CertificateRequest> = {}): Uint8Array {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return signCertificate(
    { publicKey: keys[subject]!.publicBlob, kind: 'user', random: randomBytes, keyId: `nacre-${subject}`, principals: [user], validAfter: now - 300n, validBefore: now + 3600n, ...over },
    ca[caName]!,
  ).blob;
}

async function login(subject: string, cert: Uint8Array | string): Promise<string> {
  const c = await connect({
    host: '127.0.0.1',
    port: sshd!.port,
    username: user,
    privateKey: certificateSigner(keys[subject]!, cert),
    knownHosts: false,
    verifyHostKey: () => true,
  });
  try {
    const r = await c.exec('echo certified');
    return String(r.stdout).trim();
  } finally {
    c.close();
  }
}

test('a certificate Nacre signed logs in to sshd, for each key type, with Ed25519 and RSA CAs', { skip, timeout: 60000 }, async () => {
  for (const subject of ['ed25519', 'rsa', 'p384']) {
    for (const caName of ['ca', 'ca_rsa']) {
      assert.equal(await login(subject, nacreCert(subject, caName)), 'certified', `${subject} by ${caName}`);
    }
  }
  // the RSA certificate went as rsa-sha2-512-cert-v01@openssh.com
  assert.match(sshd!.log(), /Accepted publickey for \S+ from \S+ port \d+ ssh2: RSA-CERT SHA256:\S+ ID nacre-rsa/);
});

test('a certificate ssh-keygen signed, given as its -cert.pub line, logs in', { skip, timeout: 30000 }, async () => {
  const r = spawnSync(openssh!.keygen, ['-q', '-s', keyPaths.ca!, '-I', 'from-ssh-keygen', '-n', user, '-V', '-5m:+1h', keyPaths.ed25519 + '.pub'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await login('ed25519', readFileSync(keyPaths.ed25519 + '-cert.pub', 'utf8')), 'certified');
});

test('sshd refuses a certificate for another principal, an expired one and one from an untrusted CA', { skip, timeout: 60000 }, async () => {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const refused = [
    nacreCert('ed25519', 'ca', { principals: ['somebody-else'] }),
    nacreCert('ed25519', 'ca', { validAfter: now - 7200n, validBefore: now - 3600n }),
    signCertificate({ publicKey: keys.ed25519!.publicBlob, kind: 'user', random: randomBytes, principals: [user] }, keys.rsa!).blob,
  ];
  for (const cert of refused) await assert.rejects(login('ed25519', cert), AuthenticationError);
});
