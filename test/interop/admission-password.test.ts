// OpenSSH's ssh (through sshpass) against a Nacre server checking passwords
// against a scrypt password file: the right password gets in, a wrong one and
// an unknown user do not; and an ssh login completes while 127.0.0.2–50
// attack the server with idle, stalled and garbage connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, runSshPass, tempDir } from './openssh.js';
import { generateHostKey } from '../../src/keys/index.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { createServer, type Server } from '../../src/server/server.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { passwordFileAuthenticator, setPasswordInFile } from '../../src/server/password-file.js';
import { startAttack } from '../node/attack-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';
const user = userInfo().username;

let dir = '';
let port = 0;
let server: Server;
let knownHosts = '';

before(async () => {
  if (!o) return;
  dir = tempDir('admission-password');
  const passwd = join(dir, 'passwd');
  await setPasswordInFile(passwd, user, 'right horse', { params: { log2N: 12, r: 8, p: 1 } });
  const hostKey = generateHostKey('ssh-ed25519');
  server = createServer({
    hostKeys: [hostKey],
    auth: { methods: ['password'] },
    authenticate: passwordFileAuthenticator(passwd),
    session: (s) => runAsCurrentUser(s),
    perSourcePenalties: true,
    handshakeTimeoutMs: 3000,
  });
  port = (await server.listen(0, '127.0.0.1')).port;
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, formatKnownHostLine('127.0.0.1', port, hostKey.publicBlob) + '\n');
});

after(async () => {
  if (!o) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function sshpass(password: string, login: string, command: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return runSshPass(o!, password, port, login, command, [`UserKnownHostsFile=${knownHosts}`, 'StrictHostKeyChecking=yes']);
}

test('ssh with a password from the file: right in, wrong and unknown user refused', { skip }, async () => {
  const ok = await sshpass('right horse', user, 'echo pw-file-ok');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'pw-file-ok\n');
  const wrong = await sshpass('wrong horse', user, 'echo no');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /Permission denied/);
  const unknown = await sshpass('right horse', 'nacret-nosuchuser', 'echo no');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /Permission denied/);
});

test('ssh logs in while 127.0.0.2–50 hold the server with idle, stalled and garbage connections', { skip }, async () => {
  const attack = startAttack(port);
  try {
    for (const end = Date.now() + 30_000; server.unauthenticated() < 50; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > end) throw new Error(`the attack did not fill the server (${server.unauthenticated()})`);
    }
    const r = await sshpass('right horse', user, 'echo under-attack-ok');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'under-attack-ok\n');
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  } finally {
    await attack.stop();
  }
});
