// nacred as a process: SIGHUP re-reads the configuration for new
// connections (a broken file keeps the old one and the log says why),
// SIGTERM stops it cleanly with status 0 and removes the PidFile, AllowUsers
// refuses with sshd's log line, and ssh -J goes through two nacred hops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, freePort, keygen } from './openssh.js';
import { nacredFixture, startNacred, user } from './nacred-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';

test('nacred: SIGHUP applies a changed AllowUsers to new connections; a broken file keeps the old settings; SIGTERM exits 0', { skip }, async () => {
  const f = nacredFixture(o!);
  const d = await startNacred(o!, f);
  try {
    const pidFile = join(f.dir, 'nacred.pid');
    // Written once every address is bound, just after the listening lines.
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(pidFile, 'utf8'), `${d.process.pid}\n`);
    assert.equal((await d.ssh([], ['echo', 'before'])).stdout, 'before\n');

    // A session that stays open across the reload keeps working.
    const base = readFileSync(d.config, 'utf8');
    writeFileSync(d.config, base + 'AllowUsers nacred-somebody-else\n');
    let mark = d.log().length;
    d.process.kill('SIGHUP');
    await d.waitForLog(/Received SIGHUP; restarting\./, mark);
    const refused = await d.ssh([], ['true']);
    assert.equal(refused.code, 255);
    await d.waitForLog(new RegExp(`User ${user} from 127\\.0\\.0\\.1 not allowed because not listed in AllowUsers`), mark);

    // Broken: the previous (refusing) settings stay, and the log names file and line.
    writeFileSync(d.config, base + 'AllowUsers nacred-somebody-else\nNoSuchKeyword yes\n');
    mark = d.log().length;
    d.process.kill('SIGHUP');
    await d.waitForLog(/keeping the previous one: .*line \d+: .*NoSuchKeyword/i, mark);
    assert.equal((await d.ssh([], ['true'])).code, 255);

    // Fixed: logins work again.
    writeFileSync(d.config, base);
    mark = d.log().length;
    d.process.kill('SIGHUP');
    await d.waitForLog(/Received SIGHUP; restarting\./, mark);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await d.ssh([], ['echo', 'after'])).stdout, 'after\n');

    assert.equal(await d.stop('SIGTERM'), 0);
    assert.match(d.log(), /Received signal 15; terminating\./);
    assert.equal(existsSync(pidFile), false, 'PidFile removed');
  } finally {
    await d.stop('SIGKILL');
    f.cleanup();
  }
});

test('nacred: SIGHUP with another Port listens there and lets the old port go', { skip }, async () => {
  const f = nacredFixture(o!);
  const d = await startNacred(o!, f);
  try {
    const next = await freePort();
    writeFileSync(d.config, readFileSync(d.config, 'utf8').replace(`Port ${d.port}\n`, `Port ${next}\n`));
    const mark = d.log().length;
    d.process.kill('SIGHUP');
    await d.waitForLog(new RegExp(`Server listening on 127\\.0\\.0\\.1 port ${next}\\.`), mark);
    await d.waitForLog(new RegExp(`Server stopped listening on 127\\.0\\.0\\.1 port ${d.port}\\.`), mark);
    const r = await d.ssh(['-p', String(next)], ['echo', 'moved']);
    assert.equal(r.stdout, 'moved\n', r.stderr);
  } finally {
    await d.stop();
    f.cleanup();
  }
});

test('nacred -d: debug lines, one connection, then exit 0 as sshd -d', { skip }, async () => {
  const f = nacredFixture(o!);
  const d = await startNacred(o!, f, [], ['-d']);
  try {
    assert.equal((await d.ssh([], ['echo', 'once'])).stdout, 'once\n');
    const code = await new Promise<number | null>((r) => (d.process.exitCode !== null ? r(d.process.exitCode) : d.process.once('exit', r)));
    assert.equal(code, 0);
    assert.match(d.log(), /^debug1: userauth-request for user \S+ service ssh-connection method publickey \[preauth\]$/m);
  } finally {
    await d.stop('SIGKILL');
    f.cleanup();
  }
});

test('nacred: SIGTERM closes open sessions cleanly', { skip }, async () => {
  const f = nacredFixture(o!);
  const d = await startNacred(o!, f);
  try {
    const long = d.ssh([], ['sleep', '30']);
    await d.waitForLog(/Accepted publickey/);
    const t0 = Date.now();
    assert.equal(await d.stop('SIGTERM'), 0);
    const r = await long;
    assert.ok(Date.now() - t0 < 10_000);
    // The client was told, not cut off: ssh reports the server's DISCONNECT.
    assert.match(r.stderr, /closed by remote host|Connection to 127\.0\.0\.1 closed|server shutting down/i, r.stderr);
  } finally {
    await d.stop('SIGKILL');
    f.cleanup();
  }
});

test('nacred: a Match Group block applies to the login and to its forwardings', { skip }, async () => {
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
  const f = nacredFixture(o!);
  const d = await startNacred(o!, f, [`Match Group ${group}`, '  PermitTTY no', '  AllowTcpForwarding no']);
  try {
    const t = await d.ssh(['-tt'], ['echo', 'x']);
    assert.match(t.stderr, /PTY allocation request failed/);
    // ssh 10 gives up when a forced terminal is refused (as with sshd's PermitTTY no); a plain exec still runs.
    assert.equal((await d.ssh([], ['echo', 'x'])).stdout, 'x\n');
    const w = await d.ssh(['-W', `127.0.0.1:${d.port}`]);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /administratively prohibited/);
    await d.waitForLog(/refused local port forward/);
  } finally {
    await d.stop();
    f.cleanup();
  }
});

test('nacred: HostCertificate, TrustedUserCAKeys with AuthorizedPrincipalsFile, RevokedKeys', { skip }, async () => {
  const f = nacredFixture(o!);
  const sign = (args: string[]) => {
    const r = spawnSync(o!.keygen, ['-q', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  try {
    const ca = keygen(o!, f.dir, 'ed25519', 'ca');
    sign(['-s', ca.privatePath, '-h', '-I', 'nacred-host', '-n', '127.0.0.1', `${f.hostKey}.pub`]);
    const certUser = keygen(o!, f.dir, 'ed25519', 'cert_user');
    sign(['-s', ca.privatePath, '-I', 'cert-user', '-n', 'ops', '-z', '42', `${certUser.privatePath}.pub`]);
    writeFileSync(join(f.dir, 'user_ca.pub'), ca.publicLine + '\n');
    writeFileSync(join(f.dir, 'principals'), 'ops\n', { mode: 0o600 });
    writeFileSync(join(f.dir, 'revoked'), '');
    const d = await startNacred(o!, f, [
      `HostCertificate ${f.hostKey}-cert.pub`,
      `TrustedUserCAKeys ${join(f.dir, 'user_ca.pub')}`,
      `AuthorizedPrincipalsFile ${join(f.dir, 'principals')}`,
      `RevokedKeys ${join(f.dir, 'revoked')}`,
    ]);
    try {
      // The host is checked by its certificate alone: known_hosts trusts only the CA.
      const knownCa = join(f.dir, 'known_ca');
      writeFileSync(knownCa, `@cert-authority * ${ca.publicLine}\n`);
      const viaCert = ['-o', `UserKnownHostsFile=${knownCa}`, '-o', 'StrictHostKeyChecking=yes'];
      const r = await d.ssh(viaCert, ['echo', 'certified'], undefined, certUser.privatePath);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'certified\n');
      await d.waitForLog(/Accepted publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: ED25519-CERT SHA256:\S+ ID cert-user \(serial 42\) CA ED25519 SHA256:/);
      // Revoked: refused from the next attempt on (the file is read at each).
      writeFileSync(join(f.dir, 'revoked'), readFileSync(`${certUser.privatePath}.pub`, 'utf8'));
      const again = await d.ssh(viaCert, ['true'], undefined, certUser.privatePath);
      assert.equal(again.code, 255);
    } finally {
      await d.stop();
    }
  } finally {
    f.cleanup();
  }
});

test('nacred: ssh -J through two nacred hops', { skip }, async () => {
  const f = nacredFixture(o!);
  const a = await startNacred(o!, f);
  const b = await startNacred(o!, f);
  try {
    const jump = `${user}@127.0.0.1:${a.port},${user}@127.0.0.1:${b.port}`;
    // The ssh processes ProxyJump starts get -F but not -i or -o: the options go in a config file.
    const sshConfig = join(f.dir, 'ssh_config');
    writeFileSync(sshConfig, ['Host *', `  IdentityFile ${f.userKey}`, '  IdentitiesOnly yes', '  BatchMode yes', '  StrictHostKeyChecking no', `  UserKnownHostsFile ${f.knownHosts}`].join('\n') + '\n');
    // Through a, then b, back to a (ssh refuses a last hop equal to the destination).
    const r = await a.ssh(['-F', sshConfig, '-J', jump], ['echo', 'through two hops']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'through two hops\n');
    assert.match(b.log(), /Accepted publickey/);
  } finally {
    await a.stop();
    await b.stop();
    f.cleanup();
  }
});
