// Sessions as an account (src/server/run-as-user.ts and its parts): passwd
// entries, the privilege decision, ~/.ssh/environment, the environment file
// and wrapper, the session directory's modes, and runAsUser as the current
// user (ForceCommand, command=, subsystems, PermitTTY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { findPasswdEntry, lookupUserAccount, parsePasswdEntry, UserAccountError, validUserName, type UserAccount } from '../../src/server/user-account.js';
import { PrivilegeError, SessionDirectory, environmentScript, sessionIdentity, wrapperArguments } from '../../src/server/privileges.js';
import { nologinText, parseEnvironmentFile, readOwnedFile } from '../../src/server/user-files.js';
import { runAsUser, sessionEnvironment, type RunAsUserOptions } from '../../src/server/run-as-user.js';
import { forwardingAsUser } from '../../src/server/user-forwarding.js';
import { generateHostKey } from '../../src/keys/index.js';
import { formatOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { parseAuthorizedKeys } from '../../src/trust/index.js';
import { publicKeyAuthenticator } from '../../src/server/authorization.js';
import { startServer, passwordSecret } from './server-helpers.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { FxpInit, SftpFramer, decodeResponse, encodeRequest, frame } from '../../src/sftp/index.js';

const root = process.geteuid?.() === 0;
const me: UserAccount = { name: userInfo().username, uid: process.geteuid!(), gid: process.getegid!(), home: userInfo().homedir, shell: '/bin/sh' };

test('parsePasswdEntry: seven fields, numeric ids, absolute paths; sshd\'s defaults for an empty shell or home', () => {
  assert.deepEqual(parsePasswdEntry('alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n'), { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash' });
  assert.deepEqual(parsePasswdEntry('bob:x:1001:100:::'), { name: 'bob', uid: 1001, gid: 100, home: '/', shell: '/bin/sh' });
  assert.equal(parsePasswdEntry('carol:x:1:1::relative/home:/bin/sh')?.home, '/');
  for (const bad of [
    'alice:x:1000:1000:/home/alice:/bin/bash',
    'alice:x:1000:1000::/home/alice:/bin/bash:extra',
    'alice:x:-1:1000::/home/alice:/bin/sh',
    'alice:x:4294967295:1000::/home/alice:/bin/sh',
    'alice:x:1e3:1000::/home/alice:/bin/sh',
    'alice:x:1000: 1000::/home/alice:/bin/sh',
    'alice:x:1000:1000::/home/alice:bin/sh',
    '-alice:x:1000:1000::/home/alice:/bin/sh',
    '1000:x:1000:1000::/home/alice:/bin/sh',
    'a b:x:1000:1000::/home/alice:/bin/sh',
    ':x:1000:1000::/home/alice:/bin/sh',
    '',
  ]) {
    assert.equal(parsePasswdEntry(bad), null, bad);
  }
  assert.equal(findPasswdEntry('root:x:0:0::/root:/bin/sh\nalice:x:1:2::/a:/bin/sh\nalice:x:9:9::/b:/bin/sh\n', 'alice')?.uid, 1);
  assert.equal(findPasswdEntry('alicex:x:1:2::/a:/bin/sh\n', 'alice'), null);
  for (const name of ['alice', 'a.b_c-d', 'user$']) assert.equal(validUserName(name), true, name);
  for (const name of ['', '-x', '42', 'a/b', 'a:b', 'a\nb', 'x'.repeat(257)]) assert.equal(validUserName(name), false, name);
});

test('parsePasswdEntry: random, truncated and bit-flipped lines give null or a well-formed account, never an exception', () => {
  const good = 'alice:x:1000:1000:Alice:/home/alice:/bin/bash';
  const rnd = (n: number) => Math.floor(Math.random() * n);
  for (let i = 0; i < 5000; i++) {
    let line: string;
    if (i % 3 === 0) line = randomBytes(rnd(60)).toString('latin1');
    else if (i % 3 === 1) line = good.slice(0, rnd(good.length + 1));
    else {
      const b = Buffer.from(good);
      b[rnd(b.length)]! ^= 1 << rnd(8);
      line = b.toString('latin1');
    }
    const a = parsePasswdEntry(line);
    if (a === null) continue;
    assert.ok(validUserName(a.name) && Number.isInteger(a.uid) && a.uid >= 0 && a.uid < 2 ** 32 - 1, line);
    assert.ok(a.home.startsWith('/') && a.shell.startsWith('/'), line);
  }
});

test('lookupUserAccount: real accounts by name only; unknown, numeric and malformed names are UserAccountErrors', async () => {
  const r = await lookupUserAccount('root');
  assert.equal(r.uid, 0);
  assert.equal(r.name, 'root');
  // through getent unless the test runs as nobody (then it is our own account)
  const nobody = await lookupUserAccount('nobody');
  assert.deepEqual({ ...nobody }, { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin' });
  await assert.rejects(lookupUserAccount(`nacre-no-such-${randomBytes(4).toString('hex')}`), (e: unknown) => e instanceof UserAccountError && /no such user/.test(e.message));
  for (const bad of ['0', '-root', 'a:b', '']) await assert.rejects(lookupUserAccount(bad), UserAccountError, bad);
});

test('sessionIdentity: the same uid runs directly, root uses setpriv, anyone else is refused with a PrivilegeError', () => {
  const alice: UserAccount = { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/sh' };
  assert.equal(sessionIdentity(alice, 1000), 'same-user');
  assert.throws(() => sessionIdentity(alice, 1001), (e: unknown) => e instanceof PrivilegeError && /runs as uid 1001, not root/.test(e.message));
  if (existsSync('/usr/bin/setpriv')) assert.equal(sessionIdentity(alice, 0), 'setpriv');
});

test('parseEnvironmentFile: NAME=value lines, comments and junk skipped, the later line wins, patterns filter', () => {
  const text = '# comment\n\n  A=1\nB=two words\r\nnoequals\n=novalue\nA=3\nC=x=y\n\tD=\n';
  assert.deepEqual({ ...parseEnvironmentFile(text) }, { A: '3', B: 'two words', C: 'x=y', D: '' });
  assert.deepEqual({ ...parseEnvironmentFile(text, ['A', 'C*']) }, { A: '3', C: 'x=y' });
  assert.deepEqual({ ...parseEnvironmentFile(text, false) }, {});
  assert.deepEqual({ ...parseEnvironmentFile('__proto__=x\n') }, { ['__proto__']: 'x' });
});

test('parseEnvironmentFile: random and bit-flipped files give names without = or NUL, never an exception', () => {
  const good = 'A=1\n# c\nB=two\n  C=x=y\n';
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (i % 2 === 0) text = randomBytes(Math.floor(Math.random() * 80)).toString('latin1');
    else {
      const b = Buffer.from(good);
      b[Math.floor(Math.random() * b.length)]! ^= 1 << Math.floor(Math.random() * 8);
      text = b.toString('latin1');
    }
    for (const [name, value] of Object.entries(parseEnvironmentFile(text, i % 3 === 0 ? ['A*', '?'] : true))) {
      assert.ok(name.length > 0 && !name.includes('=') && !name.includes('\0') && !value.includes('\n'), JSON.stringify(text));
    }
  }
});

test('environmentScript: what /bin/sh reads back is exactly the values; names a shell cannot export are left out', () => {
  const env = { PLAIN: 'v', QUOTES: `it's "quoted" $(echo no) \`no\``, NEWLINE: 'a\nb', EMPTY: '', 'BAD-NAME': 'x', '1BAD': 'y' };
  const dir = mkdtempSync(join(tmpdir(), 'nacre-envscript-'));
  try {
    const file = join(dir, 'env');
    writeFileSync(file, environmentScript(env));
    const r = spawnSync('/bin/sh', ['-c', '. "$0"; for n in PLAIN QUOTES NEWLINE EMPTY; do eval "printf \'%s\\0\' \\"\\$$n\\""; done; env | grep -c "BAD" || true', file], { encoding: 'utf8', env: {} });
    const parts = r.stdout.split('\0');
    assert.deepEqual(parts.slice(0, 4), [env.PLAIN, env.QUOTES, env.NEWLINE, env.EMPTY]);
    assert.equal(parts[4]!.trim(), '0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the wrapper: home directory or / with sshd\'s message, inherited descriptors closed, the program exec\'d with its arguments', () => {
  const run = (home: string, extraFds = false) =>
    spawnSync('/bin/sh', wrapperArguments('', { userRc: false, terminal: false, home }, '/bin/sh', ['-c', 'pwd; for n in 3 4 5 6 7; do [ -e /proc/$$/fd/$n ] && printf "$n "; done; echo; printf "[%s]" "$@"', 'zero', 'a b', 'c'], extraFds ? [7] : []), {
      encoding: 'utf8',
      // HOME says otherwise: the account's home directory counts, as sshd's chdir(pw_dir)
      env: { HOME: '/var/empty-nacre-elsewhere', PATH: '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe', ...(extraFds ? (['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] as const) : [])],
    });
  const ok = run(tmpdir());
  assert.equal(ok.stdout.split('\n')[0], tmpdir());
  assert.match(ok.stdout, /\[a b\]\[c\]$/);
  assert.equal(ok.stderr, '');
  const missing = run('/nonexistent-nacre-home');
  assert.equal(missing.stdout.split('\n')[0], '/');
  assert.match(missing.stderr, /^Could not chdir to home directory \/nonexistent-nacre-home: No such file or directory\n$/);
  // fd 7 given to the child is closed by the wrapper; 3-6 stay (not listed as inherited)
  const fds = run(tmpdir(), true).stdout.split('\n')[1]!.split(' ');
  for (const fd of ['3', '4', '5', '6']) assert.ok(fds.includes(fd), `${fd} in ${fds}`);
  assert.ok(!fds.includes('7'), `7 closed: ${fds}`);
});

test('readOwnedFile: a regular file of the user only; symlinks, other owners, FIFOs and large files are refused', { skip: !root && 'needs root (chown)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-owned-'));
  try {
    const file = join(dir, 'environment');
    writeFileSync(file, 'A=1\n');
    chownSync(file, 4242, 4242);
    assert.equal(await readOwnedFile(file, 4242, 100), 'A=1\n');
    assert.equal(await readOwnedFile(file, 4243, 100), null);
    assert.equal(await readOwnedFile(file, 4242, 2), null);
    symlinkSync(file, join(dir, 'link'));
    assert.equal(await readOwnedFile(join(dir, 'link'), 4242, 100), null);
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    chownSync(join(dir, 'fifo'), 4242, 4242);
    assert.equal(await readOwnedFile(join(dir, 'fifo'), 4242, 100), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SessionDirectory: root-owned, 0711 for another user (0700 for ourselves); the environment file is the user\'s, 0400; removed whole', { skip: !root && 'needs root (chown)' }, async () => {
  const nobody: UserAccount = { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin' };
  const d = await SessionDirectory.create(nobody, 'setpriv');
  const st = statSync(d.path);
  assert.equal(st.uid, 0);
  assert.equal(st.mode & 0o777, 0o711);
  assert.match(d.path, /^\/tmp\/nacre-/);
  const file = await d.writeEnvironmentFile({ A: '1' });
  const fst = statSync(file);
  assert.equal(fst.uid, 65534);
  assert.equal(fst.mode & 0o777, 0o400);
  d.remove();
  assert.ok(!existsSync(d.path));
  const own = await SessionDirectory.create(me, 'same-user');
  assert.equal(statSync(own.path).mode & 0o777, 0o700);
  own.remove();
});

/** A server whose sessions run as the current user through runAsUser. */
async function withServer(options: RunAsUserOptions, fn: (c: Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['connect']>>) => Promise<void>, authorizedLine?: string, client: Partial<ConnectOptions> = {}) {
  const key = generateHostKey('ssh-ed25519');
  const auth = authorizedLine === undefined ? passwordSecret : publicKeyAuthenticator({ authorizedKeys: parseAuthorizedKeys(`${authorizedLine} ${formatOpenSshPublicKeyLine(key.publicBlob)}\n`).entries });
  const errors: Error[] = [];
  const t = await startServer({ authenticate: auth, session: (s) => runAsUser(s, { account: me, ...options }) });
  t.server.on('error', (e) => errors.push(e));
  try {
    await fn(await t.connect({ ...(authorizedLine === undefined ? { password: 'secret' } : { privateKey: key }), ...client }));
  } finally {
    await t.close();
  }
  return errors;
}

test('runAsUser: ForceCommand replaces exec, shell and subsystem, and wins over command=; SSH_ORIGINAL_COMMAND is what the client asked', async () => {
  const force = 'echo "forced[${SSH_ORIGINAL_COMMAND-unset}]"';
  await withServer({ forceCommand: force }, async (c) => {
    assert.equal((await c.exec('ls -l')).stdout, 'forced[ls -l]\n');
    const shell = await c.shell();
    let out = '';
    for await (const d of shell.stdout) out += String(d);
    assert.match(out, /^forced\[unset\]\r?\n$/);
  });
  await withServer({ forceCommand: force }, async (c) => {
    assert.equal((await c.exec('asked')).stdout, 'forced[asked]\n');
  }, 'command="echo key"');
  await withServer({}, async (c) => {
    assert.equal((await c.exec('asked')).stdout, 'key:asked\n');
  }, 'command="echo key:$SSH_ORIGINAL_COMMAND"');
});

test('runAsUser: subsystems run their command line; unknown ones are refused; internal-sftp serves SFTP in this process, bad flags refused', async () => {
  // a Map, as sshd_config's resolved settings hold them, or a record
  const fs = new MemoryFileSystem({ startDirectory: '/srv' });
  fs.writeFile('/srv/hello.txt', 'hi');
  const logs: string[] = [];
  const subsystems = new Map([
    ['hello', 'echo hello-from-subsystem'],
    ['sftp', 'internal-sftp -R -l INFO -d /srv'],
    ['badsftp', 'internal-sftp -u 999'],
  ]);
  const internalSftp = { fileSystem: () => fs, log: (_level: string, m: string) => logs.push(m) };
  const errors = await withServer({ subsystems, internalSftp }, async (c) => {
    const ch = await c.openChannel('session');
    let out = '';
    ch.on('data', (d: Buffer) => (out += d.toString()));
    const { ReqSubsystem } = await import('../../src/messages/channel-types.js');
    assert.equal(await ch.request('subsystem', ReqSubsystem.encode({ name: 'hello' }), true), true);
    await new Promise((r) => ch.once('close', r));
    assert.equal(out, 'hello-from-subsystem\n');
    for (const name of ['badsftp', 'nope']) {
      const other = await c.openChannel('session');
      assert.equal(await other.request('subsystem', ReqSubsystem.encode({ name }), true), false, name);
      other.destroy();
    }
    const sftp = await c.openChannel('session');
    assert.equal(await sftp.request('subsystem', ReqSubsystem.encode({ name: 'sftp' }), true), true);
    const replies = new SftpFramer(1 << 20);
    const next = () =>
      new Promise<Uint8Array>((resolve) => {
        const p = replies.next();
        if (p) return resolve(p);
        const on = (d: Buffer) => {
          replies.push(d);
          const q = replies.next();
          if (q) {
            sftp.off('data', on);
            resolve(q);
          }
        };
        sftp.on('data', on);
      });
    sftp.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
    assert.equal((await next())[0], 2, 'VERSION');
    sftp.write(frame(encodeRequest({ type: 'open', id: 1, path: 'hello.txt', pflags: 1, attrs: {} })));
    const h = decodeResponse(await next());
    assert.equal(h.type, 'handle');
    sftp.write(frame(encodeRequest({ type: 'mkdir', id: 2, path: 'x', attrs: {} })));
    const refused = decodeResponse(await next());
    assert.deepEqual([refused.type, (refused as { code?: number }).code], ['status', 3], '-R refuses mkdir');
    sftp.end();
    await new Promise((r) => sftp.once('close', r));
  });
  assert.ok(errors.some((e) => /Invalid umask "999"/.test(e.message)), String(errors));
  assert.ok(logs.includes('open "hello.txt" flags READ mode 0666'), logs.join('\n'));
  assert.ok(logs.includes('forced close "hello.txt" bytes read 0 written 0'), logs.join('\n'));
});

test('runAsUser as the same user: ~/.ssh/rc only when enabled, the home directory or / when it is missing', async () => {
  const home = mkdtempSync(join(tmpdir(), 'nacre-rc-home-'));
  try {
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'rc'), 'echo rc-ran-in-$(pwd)\n');
    await withServer({ home, userRc: true }, async (c) => {
      assert.equal((await c.exec('echo program')).stdout, `rc-ran-in-${home}\nprogram\n`);
    });
    await withServer({ home }, async (c) => {
      assert.equal((await c.exec('pwd')).stdout, `${home}\n`);
    });
    await withServer({ home: join(home, 'missing') }, async (c) => {
      assert.equal((await c.exec('pwd')).stdout, '/\n');
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('runAsUser: agent forwarding gives the session a 0600 socket in a private directory, gone with the session; refused unless enabled', async () => {
  const fake = join(tmpdir(), `nacre-no-agent-${randomBytes(4).toString('hex')}`);
  let socketDir = '';
  await withServer({ agentForwarding: true }, async (c) => {
    const out = (await c.exec('stat -c "%a %U" "$SSH_AUTH_SOCK" "${SSH_AUTH_SOCK%/*}"; echo "$SSH_AUTH_SOCK"')).stdout.trim().split('\n');
    assert.deepEqual(out.slice(0, 2), [`600 ${me.name}`, `700 ${me.name}`]);
    assert.match(out[2]!, /^\/tmp\/nacre-[^/]+\/agent\.\d+$/);
    socketDir = out[2]!.replace(/\/[^/]+$/, '');
  }, undefined, { forwardAgent: fake });
  for (let i = 0; i < 100 && existsSync(socketDir); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(!existsSync(socketDir), 'removed with the session');
  await withServer({}, async (c) => {
    assert.equal((await c.exec('echo "[${SSH_AUTH_SOCK-}]"')).stdout, '[]\n');
  }, undefined, { forwardAgent: fake });
});

test('runAsUser: PermitTTY no refuses pty-req; commands still run', async () => {
  await withServer({ permitTty: false }, async (c) => {
    await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }));
    assert.equal((await c.exec('echo ok')).stdout, 'ok\n');
  });
});

test('runAsUser: a server that is not root refuses a session as another user (PrivilegeError reported, exec refused)', async () => {
  // As root, the server process is started as nobody; otherwise as we are.
  const script = fileURLToPath(new URL('./run-as-user-nonroot.js', import.meta.url));
  const cmd = root ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, script] : [process.execPath, script];
  // a home of its own: nobody cannot read root's ~/.ssh
  const home = mkdtempSync(join(tmpdir(), 'nacre-nonroot-'));
  let r;
  try {
    chmodSync(home, 0o755);
    r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 20_000, env: { ...process.env, HOME: home } });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { uid: number; ran: string | null; errors: string[] };
  assert.notEqual(out.uid, 0);
  assert.equal(out.ran, null, 'the program must not run');
  assert.ok(out.errors.some((e) => /^PrivilegeError: cannot run a session as root \(uid 0\): the server runs as uid \d+, not root$/.test(e)), String(out.errors));
});

test('forwardingAsUser: root forwarding for a user refuses privileged listens and Unix sockets; a non-root server forwards for its own user only', async () => {
  const accounts: Record<string, UserAccount> = {
    alice: { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/sh' },
    bob: { name: 'bob', uid: 1001, gid: 1001, home: '/home/bob', shell: '/bin/sh' },
    root: { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
  };
  const lookup = async (name: string) => {
    const a = accounts[name];
    if (!a) throw new UserAccountError(`no such user: ${name}`, name);
    return a;
  };
  const all = { forwardLocal: () => true, forwardRemote: () => true, forwardStreamlocal: () => true };
  const local = (username: string) => ({ host: 'localhost', port: 80, originatorAddress: '', originatorPort: 0, username });
  const remote = (username: string, bindPort: number) => ({ bindAddress: 'localhost', bindPort, username });
  const unix = (username: string) => ({ socketPath: '/run/some.sock', listen: false, username });

  const asRoot = forwardingAsUser(all, { lookup, euid: 0 });
  assert.equal(await asRoot.forwardLocal!(local('alice')), true);
  assert.equal(await asRoot.forwardRemote!(remote('alice', 80)), false, 'privileged port');
  assert.equal(await asRoot.forwardRemote!(remote('alice', 1023)), false);
  assert.equal(await asRoot.forwardRemote!(remote('alice', 1024)), true);
  assert.equal(await asRoot.forwardRemote!(remote('alice', 0)), true, 'any port: the server picks an unprivileged one');
  assert.equal(await asRoot.forwardStreamlocal!(unix('alice')), false, 'would connect as root');
  assert.equal(await asRoot.forwardStreamlocal!(unix('root')), true);
  assert.equal(await asRoot.forwardRemote!(remote('root', 80)), true);
  assert.equal(await asRoot.forwardLocal!(local('nobody-here')), false, 'unknown user');

  const asAlice = forwardingAsUser(all, { lookup, euid: 1000 });
  assert.equal(await asAlice.forwardStreamlocal!(unix('alice')), true);
  assert.equal(await asAlice.forwardRemote!(remote('alice', 80)), true, 'the kernel decides for the server\'s own user');
  for (const f of [asAlice.forwardLocal!(local('bob')), asAlice.forwardRemote!(remote('bob', 2000)), asAlice.forwardStreamlocal!(unix('bob'))]) assert.equal(await f, false);

  // the wrapped policy still decides what is left
  const none = forwardingAsUser({ forwardLocal: () => false }, { lookup, euid: 0 });
  assert.equal(await none.forwardLocal!(local('alice')), false);
  assert.equal(await none.forwardRemote!(remote('alice', 2000)), false);
});

test('sessionEnvironment: sshd\'s order: the client cannot change USER, HOME or PATH; SetEnv wins over the key and ~/.ssh/environment', () => {
  const peer = { username: 'alice', remoteAddress: '10.0.0.1', remotePort: 5555, localAddress: '10.0.0.2', localPort: 22 };
  const env = sessionEnvironment({
    login: { username: 'alice', home: '/home/alice', shell: '/bin/bash', uid: 1000 },
    peer,
    pty: null,
    client: { USER: 'root', HOME: '/root', PATH: '/evil', LANG: 'C.UTF-8', SSH_CONNECTION: 'forged', SSH_ORIGINAL_COMMAND: 'forged' },
    authSocket: '/tmp/nacre-x/agent.1',
    key: { FROM: 'key', BOTH: 'key', PATH: '/key/bin' },
    file: { BOTH: 'file', SET: 'file' },
    setEnv: { SET: 'admin' },
    originalCommand: 'asked',
  });
  assert.equal(env.USER, 'alice');
  assert.equal(env.HOME, '/home/alice');
  assert.equal(env.PATH, '/key/bin', 'the key (an administrator\'s line) may set PATH, the client may not');
  assert.equal(env.LANG, 'C.UTF-8');
  assert.equal(env.FROM, 'key');
  assert.equal(env.BOTH, 'file');
  assert.equal(env.SET, 'admin');
  assert.equal(env.SSH_AUTH_SOCK, '/tmp/nacre-x/agent.1');
  assert.equal(env.SSH_CONNECTION, '10.0.0.1 5555 10.0.0.2 22');
  assert.equal(env.SSH_ORIGINAL_COMMAND, 'asked');
  const shell = sessionEnvironment({ login: { username: 'a', home: '/', shell: '/bin/sh' }, peer, pty: null, client: { SSH_ORIGINAL_COMMAND: 'forged' }, authSocket: null, key: {}, file: {}, setEnv: {}, originalCommand: null });
  assert.equal(shell.SSH_ORIGINAL_COMMAND, undefined);
  assert.equal(shell.SSH_AUTH_SOCK, undefined);
});

test('nologinText: the file\'s text while it exists, null otherwise or when the check is off', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-nologin-'));
  try {
    const file = join(dir, 'nologin');
    assert.equal(await nologinText(file), null);
    assert.equal(await nologinText(null), null);
    writeFileSync(file, 'go away\n');
    assert.equal(await nologinText(file), 'go away\n');
    rmSync(file);
    mkdirSync(file);
    assert.equal(await nologinText(file), '', 'exists but is no text: still no login');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
