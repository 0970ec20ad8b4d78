// More nacre-keygen modes against ssh-keygen, the oracle: -l on an encrypted
// key without its .pub, -Q -l (a KRL listed), -r (SSHFP records, -g, -O
// hashalg=) and -A (missing host keys under a -f prefix). Same output, same
// exit status; ssh-keygen reads the keys -A writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir } from './openssh.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed';
const TOOL = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'dist', 'src', 'cli', 'nacre-keygen.js');
let dir = '';

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
function run(file: string, args: readonly string[], cwd = dir): Result {
  const r = spawnSync(file, args, { input: '', encoding: 'utf8', cwd, env: { ...process.env, SSH_AUTH_SOCK: '', TZ: 'UTC' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\r\n/g, '\n') };
}
const ours = (args: readonly string[], cwd = dir) => run(process.execPath, [TOOL, ...args], cwd);
const theirs = (args: readonly string[], cwd = dir) => run(openssh!.keygen, args, cwd);
function sh(args: string[]): void {
  const r = spawnSync(openssh!.keygen, args, { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
}

before(() => {
  if (!openssh) return;
  dir = tempDir('keygen-more');
  sh(['-q', '-t', 'ed25519', '-N', '', '-f', 'ca']);
  for (const [name, type] of [['ed', 'ed25519'], ['ec', 'ecdsa'], ['rsa', 'rsa']] as const) sh(['-q', '-t', type, '-N', '', '-C', `${name} key`, '-f', name]);
  sh(['-q', '-s', 'ca', '-I', 'alpha', '-z', '5', 'ed.pub']);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('-l and -e on an encrypted openssh-key-v1 key without its .pub: the header key, no passphrase asked; encrypted PEM is "not a key file"', { skip }, () => {
  for (const [name, args] of [
    ['enc-ed', ['-t', 'ed25519']],
    ['enc-ec', ['-t', 'ecdsa', '-b', '521']],
    ['enc-rsa', ['-t', 'rsa', '-b', '2048', '-Z', 'aes256-gcm@openssh.com']],
    ['enc-pem', ['-t', 'ecdsa', '-m', 'PEM']],
  ] as const) {
    sh(['-q', ...args, '-N', 'secret', '-C', 'hidden comment', '-f', name]);
    rmSync(join(dir, `${name}.pub`));
    for (const l of [['-l'], ['-lv'], ['-l', '-E', 'md5'], ...(name === 'enc-pem' ? [] : name === 'enc-ed' ? [['-e']] : [['-e'], ['-e', '-m', 'PKCS8']])]) {
      const a = [...l, '-f', name];
      // ssh-keygen also logs a debug1 line about the passphrase on stderr; output and status are what scripts read
      const [o, t] = [ours(a), theirs(a)];
      assert.deepEqual([o.stdout, o.status], [t.stdout, t.status], a.join(' '));
      if (t.status !== 0) assert.equal(o.stderr, t.stderr.split('\n').filter((line) => !line.startsWith('debug1: ')).join('\n'), a.join(' '));
    }
  }
  assert.match(ours(['-l', '-f', 'enc-ed']).stdout, /^256 SHA256:\S+ no comment \(ED25519\)\n$/);
});

test('-Q -l lists a KRL as ssh-keygen does: keys, hashes, CA blocks with merged serials and sorted ids', { skip }, () => {
  const fp = theirs(['-l', '-f', 'ec.pub']).stdout.split(' ')[1];
  writeFileSync(join(dir, 'spec1'), 'serial: 10-20\nserial: 21\nserial: 5\nserial: 30-40\nserial: 35-50\nid: zeta\nid: alpha\nid: tab\there\n');
  writeFileSync(join(dir, 'spec2'), `key: ${readFileSync(join(dir, 'rsa.pub'), 'utf8')}hash: ${fp}\nsha1: ${readFileSync(join(dir, 'ed.pub'), 'utf8')}`);
  writeFileSync(join(dir, 'spec3'), 'serial: 7\nid: omega\n');
  sh(['-k', '-f', 'krl', '-s', 'ca.pub', '-z', '9', '-C', 'my list', 'spec1']);
  sh(['-k', '-u', '-f', 'krl', 'spec2']);
  sh(['-k', '-u', '-f', 'krl', '-s', 'none', 'spec3']);
  sh(['-k', '-u', '-f', 'krl', '-s', 'ca.pub', 'spec3']);
  for (const args of [['-Q', '-l', '-f', 'krl'], ['-Ql', '-f', 'krl', 'ed-cert.pub', 'ec.pub', 'rsa.pub'], ['-Q', '-l', '-f', 'nokrl']]) {
    const o = ours(args);
    const t = theirs(args);
    assert.equal(o.stdout, t.stdout, args.join(' '));
    assert.equal(o.status, t.status, args.join(' '));
  }
  const listing = ours(['-Q', '-l', '-f', 'krl']).stdout;
  assert.match(listing, /# Comment: my list\n/);
  assert.match(listing, /serial: 5\nserial: 7\nserial: 10-21\nserial: 30-50\nid: alpha\nid: omega\nid: tab\\011here\nid: zeta\n/);
  assert.match(listing, /# Wildcard CA\nserial: 7\nid: omega\n/);
  // a KRL nacre-keygen writes lists the same from both tools
  assert.equal(ours(['-k', '-f', 'krl2', '-s', 'ca.pub', 'spec1', 'spec2']).status, 0);
  assert.equal(ours(['-Q', '-l', '-f', 'krl2']).stdout, theirs(['-Q', '-l', '-f', 'krl2']).stdout);
});

test('-r prints the SSHFP records ssh-keygen prints, -g and -O hashalg= included, and fails alike', { skip }, () => {
  for (const args of [
    ['-r', 'host.example', '-f', 'ed.pub'],
    ['-r', 'host.example', '-f', 'ec'],
    ['-r', 'host.example', '-f', 'rsa.pub', '-g'],
    ['-r', 'h', '-O', 'hashalg=sha1', '-f', 'rsa'],
    ['-r', 'h', '-O', 'hashalg=sha256', '-f', 'ed'],
    ['-r', 'h', '-O', 'hashalg=md5', '-f', 'ed'],
    ['-r', 'h', '-O', 'hashalg=nope', '-f', 'ed'],
    ['-r', 'h', '-O', 'other', '-f', 'ed'],
    ['-r', 'h', '-f', 'ed-cert.pub'],
    ['-r', 'h', '-f', 'missing'],
    ['-r', 'h', '-f', 'spec1'],
  ]) {
    assert.deepEqual(ours(args), theirs(args), args.join(' '));
  }
});

test('-A makes the missing or empty host keys under the -f prefix, as ssh-keygen does; sshd-style files it reads back', { skip }, () => {
  const prefixes = ['ours', 'theirs'].map((p) => {
    mkdirSync(join(dir, p, 'etc', 'ssh'), { recursive: true });
    writeFileSync(join(dir, p, 'etc/ssh/ssh_host_ecdsa_key'), '');
    copyFileSync(join(dir, 'ed'), join(dir, p, 'etc/ssh/ssh_host_ed25519_key'));
    return p;
  });
  const o = ours(['-A', '-f', prefixes[0]!]);
  const t = theirs(['-A', '-f', prefixes[1]!]);
  assert.equal(o.stdout.replace(/^nacre-keygen/, 'ssh-keygen'), t.stdout);
  assert.equal(o.status, t.status);
  const listing = (p: string) => readdirSync(join(dir, p, 'etc/ssh')).sort().map((f) => `${f} ${(statSync(join(dir, p, 'etc/ssh', f)).mode & 0o777).toString(8)}`);
  assert.deepEqual(listing('ours'), listing('theirs'));
  for (const type of ['rsa', 'ecdsa']) {
    const key = join(dir, 'ours', `etc/ssh/ssh_host_${type}_key`);
    const pub = theirs(['-y', '-f', key]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.equal(pub.stdout.split(' ').slice(0, 2).join(' '), readFileSync(`${key}.pub`, 'utf8').split(' ').slice(0, 2).join(' '));
  }
  assert.equal(readFileSync(join(dir, 'ours/etc/ssh/ssh_host_ed25519_key'), 'utf8'), readFileSync(join(dir, 'ed'), 'utf8'));
  // nothing missing: nothing printed
  assert.equal(ours(['-A', '-f', prefixes[0]!]).stdout, '');
  // a prefix without etc/ssh: each key fails, as in ssh-keygen, and the status is still 0
  const none = ours(['-A', '-f', 'nowhere']);
  assert.equal(none.status, theirs(['-A', '-f', 'nowhere']).status);
  assert.match(none.stderr, /Could not save your private key in nowhere\/etc\/ssh\/ssh_host_rsa_key: No such file or directory/);
});

test('SSHSIG with user certificates: -Y sign -f key-cert.pub by either tool verifies with both against cert-authority lines, same answers', { skip }, () => {
  sh(['-q', '-s', 'ca', '-I', 'rsa-id', '-n', 'carol', '-V', '-1d:+1d', 'rsa.pub']);
  sh(['-q', '-s', 'ca', '-I', 'ec-id', '-n', 'alice,bob', '-V', '20200101:20210101', 'ec.pub']);
  const caLine = readFileSync(join(dir, 'ca.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'allowed'), `alice,*@x.example cert-authority,namespaces="file" ${caLine}\ncarol cert-authority ${caLine}\ndave ${readFileSync(join(dir, 'ed.pub'), 'utf8')}`);
  writeFileSync(join(dir, 'msg'), 'a message\n');
  for (const [key, who] of [['ed-cert.pub', 'alice'], ['rsa-cert.pub', 'carol'], ['ec-cert.pub', 'alice']] as const) {
    for (const [tool, signer] of [['ours', ours], ['theirs', theirs]] as const) {
      const sigFile = `msg.${tool}.${key}.sig`;
      rmSync(join(dir, 'msg.sig'), { force: true });
      const signed = signer(['-Y', 'sign', '-n', 'file', '-f', key, 'msg']);
      assert.equal(signed.status, 0, signed.stderr);
      copyFileSync(join(dir, 'msg.sig'), join(dir, sigFile));
      for (const args of [
        ['-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', who, '-s', sigFile],
        ['-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', 'bob', '-s', sigFile],
        ['-Y', 'verify', '-n', 'git', '-f', 'allowed', '-I', who, '-s', sigFile],
        ['-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', 'dave', '-s', sigFile],
        ['-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', who, '-O', 'verify-time=20200601', '-s', sigFile],
        ['-Y', 'find-principals', '-f', 'allowed', '-s', sigFile],
        ['-Y', 'check-novalidate', '-n', 'file', '-s', sigFile],
      ]) {
        const input = readFileSync(join(dir, 'msg'));
        const [o, t] = [spawnSync(process.execPath, [TOOL, ...args], { input, cwd: dir, encoding: 'utf8' }), spawnSync(openssh!.keygen, args, { input, cwd: dir, encoding: 'utf8' })];
        const label = `${tool} ${key}: ${args.join(' ')}`;
        assert.equal(o.stdout, t.stdout, label);
        assert.equal(o.status, t.status, label);
      }
    }
  }
  for (const tool of ['ours', 'theirs']) {
    const good = spawnSync(openssh!.keygen, ['-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', 'carol', '-s', `msg.${tool}.rsa-cert.pub.sig`], { input: 'a message\n', cwd: dir, encoding: 'utf8' });
    assert.match(good.stdout, /^Good "file" signature for carol with RSA-CERT key SHA256:/, tool);
  }
  // the expired ECDSA certificate verifies at a time inside its window only
  const inWindow = spawnSync(process.execPath, [TOOL, '-Y', 'verify', '-n', 'file', '-f', 'allowed', '-I', 'alice', '-O', 'verify-time=20200601', '-s', 'msg.theirs.ec-cert.pub.sig'], { input: 'a message\n', cwd: dir, encoding: 'utf8' });
  assert.match(inWindow.stdout, /^Good "file" signature for alice with ECDSA-CERT key SHA256:/);
});

const puttygen = spawnSync('puttygen', ['--version'], { encoding: 'utf8' }).status === 0;

test('-i reads SSH.com private keys (PuTTYgen exports) as ssh-keygen -i: the same PKCS#1 PEM; encrypted ones refused alike', { skip: !openssh || !puttygen ? 'OpenSSH or puttygen not installed' : false }, () => {
  for (const bits of ['2048', '3072']) {
    const name = `sc${bits}`;
    sh(['-q', '-t', 'rsa', '-b', bits, '-N', '', '-m', 'PEM', '-f', name]);
    const exported = spawnSync('puttygen', [name, '-O', 'private-sshcom', '-o', `${name}.sshcom`], { cwd: dir, encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stderr);
    const args = ['-i', '-f', `${name}.sshcom`];
    const [o, t] = [ours(args), theirs(args)];
    assert.equal(t.status, 0, t.stderr);
    assert.deepEqual(o, t, args.join(' '));
    assert.match(o.stdout, /^-----BEGIN RSA PRIVATE KEY-----\n/);
  }
  writeFileSync(join(dir, 'pass'), 'secret\n');
  const enc = spawnSync('puttygen', ['sc2048', '-O', 'private-sshcom', '--new-passphrase', 'pass', '-o', 'enc.sshcom'], { cwd: dir, encoding: 'utf8' });
  assert.equal(enc.status, 0, enc.stderr);
  const [o, t] = [ours(['-i', '-f', 'enc.sshcom']), theirs(['-i', '-f', 'enc.sshcom'])];
  assert.deepEqual([o.status, o.stdout, o.stderr], [t.status, t.stdout, t.stderr]);
});
