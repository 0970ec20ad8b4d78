// nacred's command line against sshd's: bad flags, -V, -t on good and
// broken files, -T with -C, a port already in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, freePort } from './openssh.js';
import { nacredFixture, nacredJs, runNacred, user } from './nacred-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';

test('nacred: an unknown flag prints the getopt message and the usage, exit 1, as sshd', { skip }, () => {
  const r = runNacred(['-Z']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^unknown option -- Z\n/);
  assert.match(r.stderr, /usage: nacred \[-46DdeGiqTtV\] \[-C connection_spec\] \[-c host_cert_file\]/);
  // sshd says the same words.
  const real = spawnSync(o!.sshd, ['-Z'], { encoding: 'utf8' });
  assert.equal(real.status, 1);
  assert.match(real.stderr, /^unknown option -- Z\r?\n/);
  const missing = runNacred(['-p']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^option requires an argument -- p\n/);
  const extra = runNacred(['extra']);
  assert.equal(extra.code, 1);
  assert.equal(extra.stderr, 'Extra argument extra.\n');
  const v = runNacred(['-V']);
  assert.equal(v.code, 0);
  assert.match(v.stderr, /nacred/);
  const c = runNacred(['-C', 'user=x', '-f', '/dev/null']);
  assert.equal(c.code, 255);
  assert.match(c.stderr, /provided without test mode \(-T\)/);
});

test('nacred -t: a good file passes, a broken one names file and line and fails as sshd does', { skip }, async () => {
  const f = nacredFixture(o!);
  try {
    const good = f.writeConfig([], await freePort());
    const ok = runNacred(['-t', '-f', good]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = f.writeConfig(['PermitRootLogin yes', 'NoSuchKeyword 1'], 2222, join(f.dir, 'bad_config'));
    const r = runNacred(['-t', '-f', bad]);
    // sshd exits 255 on a bad configuration (fatal); nacred too.
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')} line 9: .*NoSuchKeyword`, 'i'));
    const real = spawnSync(o!.sshd, ['-t', '-f', bad], { encoding: 'utf8' });
    assert.notEqual(real.status, 0);
    const gone = runNacred(['-t', '-f', join(f.dir, 'absent')]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /absent: No such file or directory/);
    // A host key that cannot be loaded: none left.
    const nokey = join(f.dir, 'nokey_config');
    writeFileSync(nokey, `HostKey ${join(f.dir, 'no-such-key')}\n`);
    const k = runNacred(['-t', '-f', nokey]);
    assert.equal(k.code, 1, k.stderr);
    assert.match(k.stderr, /no hostkeys available/);
  } finally {
    f.cleanup();
  }
});

test('nacred -T prints the effective configuration; -C applies Match blocks', { skip }, async () => {
  const f = nacredFixture(o!);
  try {
    const cfg = f.writeConfig(['PermitTTY yes', 'Match User alice Address 192.0.2.0/24', '  PermitTTY no', '  AllowTcpForwarding local'], await freePort());
    const all = runNacred(['-T', '-f', cfg]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^permittty yes$/m);
    assert.match(all.stdout, /^allowtcpforwarding yes$/m);
    const alice = runNacred(['-T', '-f', cfg, '-C', 'user=alice,addr=192.0.2.7,host=x,laddr=127.0.0.1,lport=22']);
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /^permittty no$/m);
    assert.match(alice.stdout, /^allowtcpforwarding local$/m);
    const bob = runNacred(['-T', '-f', cfg, '-C', 'user=bob,addr=192.0.2.7,host=x,laddr=127.0.0.1,lport=22']);
    assert.match(bob.stdout, /^permittty yes$/m);
    // Match Group: -C names the user, nacred looks up its groups as sshd does.
    const groups = f.writeConfig(['Match Group root', '  MaxSessions 3'], 2222, join(f.dir, 'groups_config'));
    assert.match(runNacred(['-T', '-f', groups, '-C', 'user=root,addr=127.0.0.1,host=x,laddr=127.0.0.1,lport=22']).stdout, /^maxsessions 3$/m);
    assert.match(runNacred(['-T', '-f', groups, '-C', 'user=nacred-no-such-user,addr=127.0.0.1,host=x,laddr=127.0.0.1,lport=22']).stdout, /^maxsessions 10$/m);
    const bad = runNacred(['-T', '-f', cfg, '-C', 'bogus']);
    assert.equal(bad.code, 255);
    assert.match(bad.stderr, /Invalid test mode specification bogus/);
  } finally {
    f.cleanup();
  }
});

test('nacred: a port in use is a clear error naming address and port, exit 255', { skip }, async () => {
  const f = nacredFixture(o!);
  const port = await freePort();
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
  try {
    const cfg = f.writeConfig([], port);
    const r = runNacred(['-D', '-e', '-f', cfg]);
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, new RegExp(`Bind to port ${port} on 127\\.0\\.0\\.1 failed: Address already in use\\.`));
    assert.match(r.stderr, /Cannot bind any address\./);
  } finally {
    holder.close();
    f.cleanup();
  }
});

test('nacred -i serves one connection on standard input and output (ssh ProxyCommand)', { skip }, async () => {
  const f = nacredFixture(o!);
  try {
    const cfg = f.writeConfig([], await freePort());
    const r = spawnSync(
      o!.ssh,
      ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-o', `ProxyCommand=${process.execPath} ${nacredJs} -i -q -f ${cfg}`, `${user}@inetd`, 'echo via inetd; exit 4'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stdout, 'via inetd\n');
  } finally {
    f.cleanup();
  }
});
