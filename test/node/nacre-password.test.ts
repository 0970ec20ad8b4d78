// nacre's password prompt when no terminal is there: SSH_ASKPASS (forced
// with SSH_ASKPASS_REQUIRE) is run with ssh's prompt and its answer sent,
// against Nacre's own server offering only the password method; a wrong
// answer ends in "Permission denied (password)." and 255; BatchMode asks
// nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatOpenSshPublicKeyLine } from '../../src/index.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, testHostKey, passwordSecret, type TestServer } from './server-helpers.js';

const NACRE = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre.js');

let server: TestServer;
let home: string;
let knownHosts: string;

before(async () => {
  server = await startServer({ authenticate: passwordSecret, auth: { failureDelayMs: 0, methods: ['password'] }, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  home = mkdtempSync(join(tmpdir(), 'nacre-pw-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  knownHosts = join(home, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${server.port} ${formatOpenSshPublicKeyLine(testHostKey().publicBlob)}\n`);
});

after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

/** An askpass program that logs its prompt and answers `answer`. */
function askpass(answer: string): { program: string; prompts: () => string } {
  const dir = mkdtempSync(join(home, 'askpass-'));
  const program = join(dir, 'askpass');
  const log = join(dir, 'prompts');
  writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\necho '${answer}'\n`);
  chmodSync(program, 0o755);
  return { program, prompts: () => readFileSync(log, 'utf8') };
}

function runNacre(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // detached: a session of its own, so no controlling terminal is inherited
    const child = spawn(process.execPath, [NACRE, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { PATH: process.env.PATH ?? '', HOME: home, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end();
  });
}

function args(): string[] {
  return ['-F', 'none', '-p', String(server.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'WarnWeakCrypto=no', 'alice@127.0.0.1'];
}

test('SSH_ASKPASS answers the password prompt, asked when the method is tried', { timeout: 60000 }, async () => {
  const ap = askpass('secret');
  const r = await runNacre([...args(), 'echo logged-in'], { SSH_ASKPASS: ap.program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'logged-in\n');
  assert.equal(ap.prompts(), "alice@127.0.0.1's password: \n");
});

test('without a terminal, a display or SSH_ASKPASS_REQUIRE, askpass is not used: Permission denied', { timeout: 60000 }, async () => {
  const ap = askpass('secret');
  const r = await runNacre([...args(), 'true'], { SSH_ASKPASS: ap.program });
  assert.equal(r.code, 255);
  assert.equal(r.stderr, 'alice@127.0.0.1: Permission denied (password).\n');
  const withDisplay = await runNacre([...args(), 'echo ok'], { SSH_ASKPASS: ap.program, DISPLAY: ':0' });
  assert.equal(withDisplay.code, 0, withDisplay.stderr);
});

test('a wrong password is asked three times ("Permission denied, please try again."), then denied with 255', { timeout: 60000 }, async () => {
  const ap = askpass('wrong');
  const r = await runNacre([...args(), 'true'], { SSH_ASKPASS: ap.program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(r.code, 255);
  assert.equal(r.stderr, 'Permission denied, please try again.\nPermission denied, please try again.\nalice@127.0.0.1: Permission denied (password).\n');
  assert.equal(ap.prompts(), "alice@127.0.0.1's password: \n".repeat(3));
});

test('BatchMode asks nothing, even with askpass forced', { timeout: 60000 }, async () => {
  const ap = askpass('secret');
  const r = await runNacre(['-o', 'BatchMode=yes', ...args(), 'true'], { SSH_ASKPASS: ap.program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(r.code, 255);
  assert.match(r.stderr, /Permission denied \(password\)\./);
  assert.throws(() => ap.prompts());
});

test('PasswordAuthentication no: the password method is not tried, askpass never runs', { timeout: 60000 }, async () => {
  const ap = askpass('secret');
  const r = await runNacre(['-o', 'PasswordAuthentication=no', ...args(), 'true'], { SSH_ASKPASS: ap.program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(r.code, 255);
  assert.equal(r.stderr, 'alice@127.0.0.1: Permission denied (password).\n');
  assert.throws(() => ap.prompts());
});

test('keyboard-interactive: each prompt asked as "(user@host) prompt", hidden ones through askpass too', { timeout: 60000 }, async () => {
  const kbd = await startServer({
    auth: { failureDelayMs: 0, methods: ['keyboard-interactive'] },
    authenticate: async (ctx) => {
      if (ctx.method !== 'keyboard-interactive') return false;
      const [code] = await ctx.prompt([{ prompt: 'Verification code: ', echo: false }], { instruction: 'Two factors' });
      return code === 'secret';
    },
    session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }),
  });
  try {
    const ap = askpass('secret');
    const kh = join(home, 'known_hosts_kbd');
    writeFileSync(kh, `[127.0.0.1]:${kbd.port} ${formatOpenSshPublicKeyLine(testHostKey().publicBlob)}\n`);
    const r = await runNacre(['-F', 'none', '-p', String(kbd.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'WarnWeakCrypto=no', 'alice@127.0.0.1', 'echo in'], { SSH_ASKPASS: ap.program, SSH_ASKPASS_REQUIRE: 'force' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'in\n');
    assert.equal(r.stderr, 'Two factors\n');
    assert.equal(ap.prompts(), '(alice@127.0.0.1) Verification code: \n');
  } finally {
    await kbd.close();
  }
});

test('WarnWeakCrypto warns after the key exchange, before the password is asked', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(home, 'askpass-'));
  const program = join(dir, 'askpass');
  writeFileSync(program, "#!/bin/sh\necho ASKED >&2\necho secret\n");
  chmodSync(program, 0o755);
  const flags = ['-F', 'none', '-p', String(server.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'KexAlgorithms=curve25519-sha256', 'alice@127.0.0.1'];
  const r = await runNacre([...flags, 'true'], { SSH_ASKPASS: program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    '** WARNING: connection is not using a post-quantum key exchange algorithm.\n' +
      '** This session may be vulnerable to "store now, decrypt later" attacks.\n' +
      '** The server may need to be upgraded. See https://openssh.com/pq.html\n' +
      'ASKED\n',
  );
});

test('an unknown host key without a terminal or askpass is refused, nothing recorded', { timeout: 60000 }, async () => {
  const kh = join(home, 'known_hosts_empty');
  const r = await runNacre(['-F', 'none', '-p', String(server.port), '-o', `UserKnownHostsFile=${kh}`, 'alice@127.0.0.1', 'true'], {});
  assert.equal(r.code, 255);
  assert.equal(r.stderr, 'Host key verification failed.\n');
  assert.throws(() => readFileSync(kh));
  // With askpass allowed, the question goes there, and "yes" records the key.
  const dir = mkdtempSync(join(home, 'askpass-'));
  const program = join(dir, 'askpass');
  writeFileSync(program, `#!/bin/sh\ncase "$1" in *fingerprint*) echo yes ;; *) echo secret ;; esac\n`);
  chmodSync(program, 0o755);
  const ok = await runNacre(['-F', 'none', '-p', String(server.port), '-o', `UserKnownHostsFile=${kh}`, 'alice@127.0.0.1', 'echo in'], { SSH_ASKPASS: program, SSH_ASKPASS_REQUIRE: 'force' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'in\n');
  assert.match(readFileSync(kh, 'utf8'), /^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
});

test('PreferredAuthentications orders the methods; keyboard-interactive and password are each asked NumberOfPasswordPrompts times', { timeout: 60000 }, async () => {
  const both = await startServer({
    auth: { failureDelayMs: 0, methods: ['keyboard-interactive', 'password'] },
    authenticate: async (ctx) => {
      if (ctx.method === 'keyboard-interactive') {
        const [code] = await ctx.prompt([{ prompt: 'Code: ', echo: false }]);
        return code === 'secret';
      }
      return false;
    },
    session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }),
  });
  try {
    const kh = join(home, 'known_hosts_both');
    writeFileSync(kh, `[127.0.0.1]:${both.port} ${formatOpenSshPublicKeyLine(testHostKey().publicBlob)}\n`);
    const run = async (extra: string[]) => {
      const ap = askpass('wrong');
      const r = await runNacre(['-F', 'none', '-p', String(both.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'WarnWeakCrypto=no', ...extra, 'alice@127.0.0.1', 'true'], {
        SSH_ASKPASS: ap.program,
        SSH_ASKPASS_REQUIRE: 'force',
      });
      assert.equal(r.code, 255, r.stderr);
      let asked = '';
      try {
        asked = ap.prompts();
      } catch {
        // never run: no log written
      }
      return asked.split('\n').filter((l) => l !== '');
    };
    const kbd = '(alice@127.0.0.1) Code: ';
    const pw = "alice@127.0.0.1's password: ";
    assert.deepEqual(await run([]), [kbd, kbd, kbd, pw, pw, pw]);
    assert.deepEqual(await run(['-o', 'PreferredAuthentications=password,keyboard-interactive']), [pw, pw, pw, kbd, kbd, kbd]);
    assert.deepEqual(await run(['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1']), [pw, kbd]);
    assert.deepEqual(await run(['-o', 'NumberOfPasswordPrompts=0']), []);
  } finally {
    await both.close();
  }
});
