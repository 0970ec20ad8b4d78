// accept-new against OpenSSH 10's own: the same server, once with
// `ssh -o StrictHostKeyChecking=accept-new` and once with Nacre's
// acceptUnknownHostKey, each with its own known_hosts. Both must write the
// same line (hashed or not), and both must refuse a host that known_hosts
// knows only by a key of another type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findOpenSsh, runSsh, tempDir } from './openssh.js';
import { HostKeyRejectedError } from '../../src/errors.js';
import { generateHostKey } from '../../src/keys/index.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { startServer, passwordSecret, type TestServer } from '../node/server-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';

let dir = '';
let t: TestServer;
before(async () => {
  if (!o) return;
  dir = tempDir('accept-new');
  t = await startServer({ authenticate: passwordSecret });
});
after(async () => {
  if (!o) return;
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ssh with accept-new and `file` as known_hosts; it records the key at key exchange, whatever authentication then does. */
function sshAcceptNew(file: string, hash: boolean) {
  return runSsh(o!, [
    '-p', String(t.port),
    '-o', `UserKnownHostsFile=${file}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=accept-new',
    '-o', `HashKnownHosts=${hash ? 'yes' : 'no'}`,
    '-o', 'BatchMode=yes',
    '-o', 'PreferredAuthentications=password',
    'nobody@127.0.0.1', 'true',
  ]);
}

test('accept-new writes the line ssh writes: [host]:port and the key, no comment; hashed, ssh-keygen -F finds both', { skip }, async () => {
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  await sshAcceptNew(theirs, false);
  const c = await t.connect({ password: 'secret', knownHosts: ours, acceptUnknownHostKey: true });
  await c.close();
  assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'));
  assert.match(readFileSync(ours, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${t.port} ssh-ed25519 \\S+\\n$`));

  const oursHashed = join(dir, 'ours-hashed');
  const theirsHashed = join(dir, 'theirs-hashed');
  await sshAcceptNew(theirsHashed, true);
  const c2 = await t.connect({ password: 'secret', knownHosts: oursHashed, acceptUnknownHostKey: true, hashKnownHosts: true });
  await c2.close();
  for (const file of [oursHashed, theirsHashed]) {
    assert.match(readFileSync(file, 'utf8'), /^\|1\|[^ ]+ ssh-ed25519 \S+\n$/);
    const found = spawnSync(o!.keygen, ['-F', `[127.0.0.1]:${t.port}`, '-f', file], { encoding: 'utf8' });
    assert.equal(found.status, 0, `${file}: ${found.stdout}${found.stderr}`);
  }
  assert.equal(readFileSync(oursHashed, 'utf8').split(' ').slice(1).join(' '), readFileSync(theirsHashed, 'utf8').split(' ').slice(1).join(' '));
});

test('a host known only by a key of another type: ssh says the identification changed, and Nacre refuses it as a mismatch even when verifyHostKey returns true', { skip }, async () => {
  const file = join(dir, 'other-type');
  const text = `${formatKnownHostLine('127.0.0.1', t.port, generateHostKey('ecdsa-sha2-nistp256').publicBlob)}\n`;
  writeFileSync(file, text);
  const ssh = await sshAcceptNew(file, false);
  assert.notEqual(ssh.code, 0);
  assert.match(ssh.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
  assert.match(ssh.stderr, /Offending ECDSA key in .*:1/);
  assert.equal(readFileSync(file, 'utf8'), text);

  const seen: string[] = [];
  await assert.rejects(
    t.connect({ password: 'secret', knownHosts: file, acceptUnknownHostKey: true, verifyHostKey: (info) => (seen.push(info.knownHosts), true) }),
    (e: unknown) => e instanceof HostKeyRejectedError && /only by other key types \(ecdsa-sha2-nistp256\)/.test(e.message),
  );
  assert.deepEqual(seen, ['mismatch']);
  assert.equal(readFileSync(file, 'utf8'), text);
});
