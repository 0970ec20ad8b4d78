// The sshd_config keywords that decide which keys get in, and Compression,
// against the real nacred with OpenSSH's ssh: RequiredRSASize (a 2048-bit
// RSA key in at the default, out at 3072; a certificate judged by its own
// key, not its CA's, as sshd does), CASignatureAlgorithms (a certificate
// from an RSA CA out under `ssh-ed25519`, here in a Match block), Compression
// no (`ssh -C` negotiates `none`), and RequiredRSASize for host keys under
// `nacred -t` as under `sshd -t`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen } from './openssh.js';
import { nacredFixture, runNacred, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';

let f: NacredFixture;
/** A 2048-bit RSA user key, in authorized_keys. */
let rsa2048 = '';
/** An Ed25519 user key with a certificate from a 2048-bit RSA CA (signed rsa-sha2-512), trusted by TrustedUserCAKeys. */
let certified = '';
let byDefault: RunningNacred;
let strict: RunningNacred;

before(async () => {
  if (!o) return;
  f = nacredFixture(o);
  const rsa = keygen(o, f.dir, 'rsa', 'rsa2048', 2048);
  rsa2048 = rsa.privatePath;
  appendFileSync(f.authorizedKeys, rsa.publicLine + '\n');
  const ca = keygen(o, f.dir, 'rsa', 'rsa_ca', 2048);
  certified = keygen(o, f.dir, 'ed25519', 'certified').privatePath;
  const r = spawnSync(o.keygen, ['-q', '-s', ca.privatePath, '-t', 'rsa-sha2-512', '-I', 'by-rsa-ca', '-n', user, `${certified}.pub`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  writeFileSync(join(f.dir, 'user_ca.pub'), ca.publicLine + '\n');
  const trust = [`TrustedUserCAKeys ${join(f.dir, 'user_ca.pub')}`, 'LogLevel VERBOSE'];
  byDefault = await startNacred(o, f, trust);
  strict = await startNacred(o, f, [
    ...trust,
    'RequiredRSASize 3072',
    'Compression no',
    // From 127.0.0.2 (ssh -b) certificates must be signed by an Ed25519 CA.
    'Match Address 127.0.0.2',
    '  CASignatureAlgorithms ssh-ed25519',
  ]);
});

after(async () => {
  if (!o) return;
  await byDefault?.stop();
  await strict?.stop();
  f?.cleanup();
});

test('RequiredRSASize: a 2048-bit RSA key logs in at the default and is refused at 3072, with sshd\'s log line', { skip }, async () => {
  const ok = await byDefault.ssh([], ['echo', 'accepted'], undefined, rsa2048);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'accepted\n');
  const from = strict.log().length;
  const refused = await strict.ssh([], ['echo', 'accepted'], undefined, rsa2048);
  assert.equal(refused.code, 255);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /Permission denied \(publickey\)/);
  await strict.waitForLog(/refusing RSA key: Invalid key length/, from);
  // The Ed25519 key of the same file still gets in.
  const other = await strict.ssh([], ['echo', 'ed25519']);
  assert.equal(other.code, 0, other.stderr);
});

test('RequiredRSASize judges a certificate by its key, not its CA (a 2048-bit RSA CA still signs for 3072), as sshd', { skip }, async () => {
  const r = await strict.ssh([], ['echo', 'certified'], undefined, certified);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'certified\n');
});

test('CASignatureAlgorithms ssh-ed25519 (in a Match block) refuses a certificate an RSA CA signed; the default takes it', { skip }, async () => {
  const ok = await byDefault.ssh(['-b', '127.0.0.2'], ['echo', 'certified'], undefined, certified);
  assert.equal(ok.code, 0, ok.stderr);
  const from = strict.log().length;
  const refused = await strict.ssh(['-b', '127.0.0.2'], ['echo', 'certified'], undefined, certified);
  assert.equal(refused.code, 255);
  assert.equal(refused.stdout, '');
  await strict.waitForLog(/the CA signed with rsa-sha2-512, which is not accepted/, from);
});

test('Compression no: ssh -C negotiates none; by default zlib@openssh.com', { skip }, async () => {
  const compression = (stderr: string) => [...stderr.matchAll(/kex: (?:server->client|client->server) .*compression: (\S+)/g)].map((m) => m[1]);
  const on = await byDefault.ssh(['-C', '-v'], ['true']);
  assert.equal(on.code, 0, on.stderr);
  assert.deepEqual(compression(on.stderr), ['zlib@openssh.com', 'zlib@openssh.com']);
  const off = await strict.ssh(['-C', '-v'], ['true']);
  assert.equal(off.code, 0, off.stderr);
  assert.deepEqual(compression(off.stderr), ['none', 'none']);
});

test('RequiredRSASize and host keys: a smaller RSA host key is skipped, and none left fails -t, as sshd -t', { skip }, () => {
  const hostRsa = keygen(o!, f.dir, 'rsa', 'host_rsa2048', 2048).privatePath;
  const only = join(f.dir, 'only_rsa_config');
  writeFileSync(only, `HostKey ${hostRsa}\nRequiredRSASize 3072\nPidFile none\n`);
  const sshd = spawnSync(o!.sshd, ['-t', '-f', only], { encoding: 'utf8' });
  assert.notEqual(sshd.status, 0);
  const ours = runNacred(['-t', '-f', only]);
  assert.equal(ours.code, 1, ours.stderr);
  assert.match(ours.stderr, new RegExp(`Host key ${hostRsa}: Invalid key length`));
  assert.match(ours.stderr, /no hostkeys available -- exiting\./);
  // With an Ed25519 key beside it both start; at the default the RSA key is taken.
  const both = join(f.dir, 'both_config');
  writeFileSync(both, `HostKey ${hostRsa}\nHostKey ${f.hostKey}\nRequiredRSASize 3072\nPidFile none\n`);
  assert.equal(spawnSync(o!.sshd, ['-t', '-f', both], { encoding: 'utf8' }).status, 0);
  const r = runNacred(['-t', '-f', both]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Invalid key length/);
  writeFileSync(join(f.dir, 'default_config'), `HostKey ${hostRsa}\nPidFile none\n`);
  const atDefault = runNacred(['-t', '-f', join(f.dir, 'default_config')]);
  assert.equal(atDefault.code, 0, atDefault.stderr);
  assert.doesNotMatch(atDefault.stderr, /Invalid key length/);
});

test('a host certificate whose key could not be loaded is skipped, as sshd skips it, and the server runs on its other keys', { skip }, () => {
  const ca = keygen(o!, f.dir, 'ed25519', 'host_ca');
  const lost = keygen(o!, f.dir, 'ed25519', 'host_lost').privatePath;
  const signed = spawnSync(o!.keygen, ['-q', '-s', ca.privatePath, '-h', '-I', 'lost', '-n', '127.0.0.1', `${lost}.pub`], { encoding: 'utf8' });
  assert.equal(signed.status, 0, signed.stderr);
  const config = join(f.dir, 'lost_key_config');
  // The key's file is missing (a typo, a file not deployed yet); its certificate is there.
  writeFileSync(config, `HostKey ${lost}.missing\nHostKey ${f.hostKey}\nHostCertificate ${lost}-cert.pub\nPidFile none\n`);
  assert.equal(spawnSync(o!.sshd, ['-t', '-f', config], { encoding: 'utf8' }).status, 0);
  const r = runNacred(['-t', '-f', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`No matching private key for certificate: ${lost}-cert.pub`));
});
