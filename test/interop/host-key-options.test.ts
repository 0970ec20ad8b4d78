// The client's host key options against OpenSSH 10's sshd (three HostKey
// lines: Ed25519, ECDSA, RSA) with OpenSSH's ssh as the oracle: UpdateHostKeys
// writes the file ssh writes, HostKeyAlias names the host as ssh does,
// GlobalKnownHostsFile is read and never written, RevokedHostKeys refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { findOpenSsh, keygen, runSsh, startSshd, tempDir, type Sshd } from './openssh.js';
import { connect, type Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import type { HostKeysUpdateResult } from '../../src/client/host-key-update.js';
import { HostKeyRejectedError } from '../../src/errors.js';
import { generateHostKey, formatOpenSshPublicKeyLine } from '../../src/keys/index.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';
const user = userInfo().username;

let sshd: Sshd;
let dir = '';
let identity = '';
before(async () => {
  if (!o) return;
  dir = tempDir('host-key-options');
  const id = keygen(o, dir, 'ed25519', 'id_ed25519');
  identity = id.privatePath;
  sshd = await startSshd(o, [], { authorizedKeys: id.publicLine + '\n' });
});
after(async () => {
  await sshd?.stop();
});

const name = () => `[127.0.0.1]:${sshd.port}`;
/** `type base64` of a server host key. */
const hostKey = (type: 'ed25519' | 'ecdsa' | 'rsa') => sshd.hostKeys[type]!.split(' ').slice(0, 2).join(' ');
const blobOf = (type: 'ed25519' | 'ecdsa' | 'rsa') => new Uint8Array(Buffer.from(sshd.hostKeys[type]!.split(' ')[1]!, 'base64'));

function nacre(extra: Partial<ConnectOptions>): Promise<Client> {
  return connect({ host: '127.0.0.1', port: sshd.port, username: user, privateKeyFile: identity, keepalive: false, ...extra });
}

async function updateResult(c: Client): Promise<HostKeysUpdateResult> {
  return c.hostKeysUpdate ?? (await once(c, 'hostkeys-updated'))[0];
}

function ssh(args: string[]) {
  return runSsh(o!, ['-p', String(sshd.port), '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'GlobalKnownHostsFile=/dev/null', ...args, `${user}@127.0.0.1`, 'true']);
}

test('UpdateHostKeys: the new keys proven by sshd are added and a key it no longer has removed, the same file ssh writes', { skip }, async () => {
  const stale = formatOpenSshPublicKeyLine(generateHostKey('ecdsa-sha2-nistp256').publicBlob, '');
  const start = ['# my hosts', `${name()} ${hostKey('ed25519')}`, `other.example ${hostKey('rsa')}`, `${name()} ${stale}`, ''].join('\n');
  const ours = join(dir, 'update-ours');
  const theirs = join(dir, 'update-theirs');
  writeFileSync(ours, start);
  writeFileSync(theirs, start);

  // ssh refuses to update when a new key is already filed under another name; so do we
  const refused = await nacre({ knownHosts: ours, updateHostKeys: true });
  const r0 = await updateResult(refused);
  await refused.close();
  assert.match(r0.skipped ?? '', /also listed under another name/);
  assert.equal(readFileSync(ours, 'utf8'), start);

  const clean = start.replace(`other.example ${hostKey('rsa')}\n`, '');
  writeFileSync(ours, clean);
  writeFileSync(theirs, clean);
  const sshRun = await ssh(['-o', `UserKnownHostsFile=${theirs}`, '-o', 'UpdateHostKeys=yes', '-o', 'StrictHostKeyChecking=yes']);
  assert.equal(sshRun.code, 0, sshRun.stderr);

  const lines: string[] = [];
  const c = await nacre({ knownHosts: ours, updateHostKeys: true, debug: (_l, m) => lines.push(m) });
  const r = await updateResult(c);
  await c.close();
  assert.equal(r.skipped, undefined, r.skipped);
  assert.deepEqual(r.added.map((k) => k.keyType).sort(), ['ecdsa-sha2-nistp256', 'ssh-rsa']);
  assert.deepEqual(r.removed.map((k) => k.keyType), ['ecdsa-sha2-nistp256']);
  assert.deepEqual(r.files, [ours]);
  assert.ok(lines.some((l) => l.startsWith('Learned new hostkey: ssh-rsa SHA256:')), lines.join('\n'));
  assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'));
  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) assert.ok(readFileSync(ours, 'utf8').includes(hostKey(type)), type);

  // The next connection has nothing to learn, and ssh-keygen finds every key.
  const again = await nacre({ knownHosts: ours, updateHostKeys: true });
  assert.equal((await updateResult(again)).skipped, 'no new or deprecated keys');
  await again.close();
  const found = spawnSync(o!.keygen, ['-F', name(), '-f', ours], { encoding: 'utf8' });
  assert.equal(found.stdout.split('\n').filter((l) => l.startsWith('[')).length, 3, found.stdout);
});

test('UpdateHostKeys with hashed names, and declined by the ask function', { skip }, async () => {
  const file = join(dir, 'hashed');
  const start = `${name()} ${hostKey('ecdsa')}\n`;
  writeFileSync(file, start);
  const asked: string[] = [];
  const declined = await nacre({ knownHosts: file, updateHostKeys: (change) => (asked.push(...change.added.map((k) => k.keyType)), false) });
  assert.equal((await updateResult(declined)).skipped, 'the update was declined');
  await declined.close();
  assert.deepEqual(asked.sort(), ['ssh-ed25519', 'ssh-rsa']);
  assert.equal(readFileSync(file, 'utf8'), start);

  const c = await nacre({ knownHosts: file, updateHostKeys: async () => true, hashKnownHosts: true });
  const r = await updateResult(c);
  await c.close();
  assert.equal(r.added.length, 2);
  const text = readFileSync(file, 'utf8').split('\n');
  assert.equal(text[0], start.trim());
  assert.match(text[1]!, /^\|1\|\S+ ssh-ed25519 /);
  const found = spawnSync(o!.keygen, ['-F', name(), '-f', file], { encoding: 'utf8' });
  assert.equal(found.stdout.split('\n').filter((l) => /^(\[|\|1\|)/.test(l)).length, 3, found.stdout);
});

test('UpdateHostKeys stays off after accept-new and for a key found in the global file, as in ssh', { skip }, async () => {
  const acceptNew = join(dir, 'accept-new');
  const c = await nacre({ knownHosts: acceptNew, acceptUnknownHostKey: true, updateHostKeys: true });
  assert.match((await updateResult(c)).skipped ?? '', /disabled: .*accept-new/);
  await c.close();
  assert.equal(readFileSync(acceptNew, 'utf8').split('\n').filter(Boolean).length, 1);

  const user = join(dir, 'user-empty');
  const global = join(dir, 'global');
  writeFileSync(user, '');
  writeFileSync(global, `${name()} ${hostKey('ed25519')}\n`);
  const g = await nacre({ knownHosts: user, globalKnownHosts: global, updateHostKeys: true });
  assert.equal(g.hostKey?.knownHostsEntry?.file, global);
  assert.match((await updateResult(g)).skipped ?? '', /global file/);
  await g.close();
  assert.equal(readFileSync(user, 'utf8'), '');
  assert.equal(readFileSync(global, 'utf8'), `${name()} ${hostKey('ed25519')}\n`);
  // a global file never receives accept-new's line either
  const otherGlobal = join(dir, 'global-other');
  writeFileSync(otherGlobal, `other.example ${hostKey('ed25519')}\n`);
  const g2 = await nacre({ knownHosts: [join(dir, 'first'), user], globalKnownHosts: [otherGlobal], acceptUnknownHostKey: true, algorithms: { hostKey: ['ecdsa-sha2-nistp256'] } });
  await g2.close();
  assert.equal(readFileSync(join(dir, 'first'), 'utf8'), `${name()} ${hostKey('ecdsa')}\n`);
  assert.equal(readFileSync(otherGlobal, 'utf8'), `other.example ${hostKey('ed25519')}\n`);
  // known only by the global file's key of another type: a mismatch, as for the user's file
  await assert.rejects(nacre({ knownHosts: user, globalKnownHosts: global, acceptUnknownHostKey: true, algorithms: { hostKey: ['ecdsa-sha2-nistp256'] } }), /only by other key types \(ssh-ed25519\) \(.*global line 1\)/);
});

test('several knownHosts files: a key in the second one is trusted; new keys go to the first', { skip }, async () => {
  const first = join(dir, 'multi-1');
  const second = join(dir, 'multi-2');
  writeFileSync(first, '# first\n');
  writeFileSync(second, `${name()} ${hostKey('ed25519')}\n`);
  const c = await nacre({ knownHosts: [first, second], updateHostKeys: true });
  assert.equal(c.hostKey?.knownHostsEntry?.file, second);
  const r = await updateResult(c);
  await c.close();
  assert.equal(r.skipped, undefined);
  // ssh moves the host to the first file: its lines elsewhere are dropped
  assert.deepEqual(r.files, [first, second]);
  assert.equal(readFileSync(second, 'utf8'), '');
  assert.equal(readFileSync(first, 'utf8').split('\n').filter((l) => l.startsWith('[')).length, 3);
});

test('HostKeyAlias: looked up and recorded under the alias without a port, as ssh records it', { skip }, async () => {
  const ours = join(dir, 'alias-ours');
  const theirs = join(dir, 'alias-theirs');
  const sshRun = await ssh(['-o', `UserKnownHostsFile=${theirs}`, '-o', 'HostKeyAlias=Build.Alias', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'HostKeyAlgorithms=ssh-ed25519']);
  assert.equal(sshRun.code, 0, sshRun.stderr);
  const c = await nacre({ knownHosts: ours, hostKeyAlias: 'Build.Alias', acceptUnknownHostKey: true, algorithms: { hostKey: ['ssh-ed25519'] } });
  await c.close();
  assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'));
  assert.match(readFileSync(ours, 'utf8'), /^build\.alias ssh-ed25519 /);

  // the real name is not consulted any more: a wrong key under it does not matter
  writeFileSync(ours, `${readFileSync(ours, 'utf8')}${name()} ${formatOpenSshPublicKeyLine(generateHostKey('ssh-ed25519').publicBlob, '')}\n`);
  const again = await nacre({ knownHosts: ours, hostKeyAlias: 'build.alias', algorithms: { hostKey: ['ssh-ed25519'] } });
  assert.equal(again.hostKey?.knownHosts, 'match');
  await again.close();
  await assert.rejects(nacre({ knownHosts: ours, algorithms: { hostKey: ['ssh-ed25519'] } }), /does not match known_hosts/);
  await assert.rejects(connect({ hostKeyAlias: 'a b' }), RangeError);
});

test('RevokedHostKeys: a KRL from ssh-keygen -k or a key list refuses the host key whatever known_hosts and verifyHostKey say, as ssh does', { skip }, async () => {
  const keyList = join(dir, 'revoked.pub');
  writeFileSync(keyList, sshd.hostKeys.ed25519 + '\n');
  const krl = join(dir, 'revoked.krl');
  const made = spawnSync(o!.keygen, ['-k', '-f', krl, keyList], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const known = join(dir, 'revoked-known');
  writeFileSync(known, `${name()} ${hostKey('ed25519')}\n${name()} ${hostKey('ecdsa')}\n`);
  for (const file of [keyList, krl]) {
    const theirs = await ssh(['-o', `UserKnownHostsFile=${known}`, '-o', `RevokedHostKeys=${file}`, '-o', 'HostKeyAlgorithms=ssh-ed25519']);
    assert.notEqual(theirs.code, 0);
    assert.match(theirs.stderr, /revoked by file/);
    await assert.rejects(
      nacre({ knownHosts: known, revokedHostKeys: file, verifyHostKey: () => ({ accept: 'revoked' }), algorithms: { hostKey: ['ssh-ed25519'] } }),
      (e: unknown) => e instanceof HostKeyRejectedError && /is revoked: the host key is listed in .*revoked/.test(e.message),
    );
    // the host's other key is not revoked
    const c = await nacre({ knownHosts: known, revokedHostKeys: file, algorithms: { hostKey: ['ecdsa-sha2-nistp256'] } });
    await c.close();
    assert.ok(Buffer.from(c.hostKey!.key).equals(blobOf('ecdsa')));
  }
  // an unreadable file fails before any connection, as ssh fails
  await assert.rejects(connect({ port: sshd.port, knownHosts: known, revokedHostKeys: join(dir, 'missing') }), /revoked keys file/);
});

