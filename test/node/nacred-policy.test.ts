// nacred's pieces without a process: its command line (sshd's getopt and
// exits), AuthenticationMethods, AllowUsers/DenyUsers/AllowGroups/DenyGroups,
// the Restrictions the configuration adds, the forwarding policy and its log
// lines, passwd lines, and sshd's log levels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliExit } from '../../src/cli/common/exit.js';
import { parseNacredArgs, NACRED_USAGE, DEFAULT_CONFIG_FILE } from '../../src/cli/sshd/args.js';
import { nextMethods, userNotAllowed, withConfigRestrictions, sshdKeyName, judgeAttempt, type AuthDeps } from '../../src/cli/sshd/auth-policy.js';
import { parsePasswdLine, type Account } from '../../src/cli/sshd/accounts.js';
import { forwardingPolicy } from '../../src/cli/sshd/forward-policy.js';
import { SshdLog, parseLogLevel, logWriter } from '../../src/cli/sshd/log.js';
import { strictModesProblem } from '../../src/cli/sshd/auth-policy.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedConfig, commandLine, loadConfigFile, MissingConfigError } from '../../src/cli/sshd/config.js';
import { matchSpec, settingsOf } from '../../src/cli/sshd/server-options.js';
import { EventEmitter } from 'node:events';
import { logServerEvents, OncePerConnection } from '../../src/cli/sshd/events-log.js';
import { DisconnectError, DisconnectReason, ProtocolError, TimeoutError, type Server } from '../../src/index.js';
import { UNRESTRICTED, parseSshdConfig, resolveSshdConfig, type AuthContext, type SshdSettings } from '../../src/index.js';
import { encodePublicKey, formatOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { publicKeyInfo } from '../../src/server/auth.js';
import { rsaKeyPair } from '../core/rsa-key.js';

function settings(text = '', spec?: Parameters<typeof resolveSshdConfig>[1]): SshdSettings {
  return resolveSshdConfig(parseSshdConfig(text, 'test_config', { readFile: () => null, glob: () => [] }), spec);
}

const alice: Account = { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/sh', groups: ['alice', 'staff'] };

function exitOf(fn: () => unknown): CliExit {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliExit) return e;
    throw e;
  }
  throw new Error('no exit');
}

test("nacred's flags: sshd's getopt string, -p replacing, -o in order, usage on bad input (exit 1)", () => {
  const a = parseNacredArgs(['-D', '-dd', '-e', '-f', '/x', '-p', '2222', '-p2223', '-o', 'PermitTTY no', '-h', 'k1', '-c', 'c1', '-4', '-g', '30', '-q', '-T', '-C', 'user=a', '-C', 'addr=1.2.3.4']);
  assert.equal(a.configFile, '/x');
  assert.equal(a.debug, 2);
  assert.equal(a.logToStderr, true);
  assert.deepEqual(a.ports, [2222, 2223]);
  assert.deepEqual(a.options, ['PermitTTY no']);
  assert.deepEqual(a.hostKeys, ['k1']);
  assert.deepEqual(a.hostCertificates, ['c1']);
  assert.equal(a.addressFamily, 'inet');
  assert.equal(a.print, 'checked');
  assert.equal(a.connectionSpec, 'user=a,addr=1.2.3.4');
  assert.deepEqual(commandLine(a).options, ['AddressFamily inet', 'LoginGraceTime 30', 'PermitTTY no']);
  assert.equal(parseNacredArgs([]).configFile, DEFAULT_CONFIG_FILE);
  const bad = exitOf(() => parseNacredArgs(['-x']));
  assert.equal(bad.code, 1);
  assert.ok(bad.message.startsWith('unknown option -- x\n') && bad.message.endsWith(NACRED_USAGE));
  assert.equal(exitOf(() => parseNacredArgs(['-p', '0'])).message, 'Bad port number.');
  assert.equal(exitOf(() => parseNacredArgs(['-p', '70000'])).code, 1);
  assert.equal(exitOf(() => parseNacredArgs(['-f'])).code, 1);
  assert.equal(exitOf(() => parseNacredArgs(['-D', 'x'])).message, 'Extra argument x.');
});

test('AuthenticationMethods: lists are followed in order; partial success names what may come next', () => {
  assert.equal(nextMethods([], [], 'password'), 'done');
  const lists = [['publickey', 'password'], ['publickey', 'keyboard-interactive:pam'], ['password']];
  assert.deepEqual(nextMethods(lists, [], 'publickey'), ['password', 'keyboard-interactive']);
  assert.equal(nextMethods(lists, ['publickey'], 'password'), 'done');
  assert.equal(nextMethods(lists, [], 'password'), 'done');
  assert.equal(nextMethods([['publickey', 'password']], [], 'password'), 'refused');
  assert.equal(nextMethods([['publickey', 'password']], ['publickey'], 'publickey'), 'refused');
});

test('AllowUsers, DenyUsers, AllowGroups, DenyGroups: sshd order, user@address patterns, its log words', () => {
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings()), null);
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings('AllowUsers bob alice@10.0.0.0/8')), null);
  assert.equal(userNotAllowed(alice, '192.0.2.1', settings('AllowUsers bob alice@10.0.0.0/8')), 'User alice from 192.0.2.1 not allowed because not listed in AllowUsers');
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings('DenyUsers al*\nAllowUsers alice')), 'User alice from 10.0.0.1 not allowed because listed in DenyUsers');
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings('DenyGroups staff')), 'User alice from 10.0.0.1 not allowed because a group is listed in DenyGroups');
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings('AllowGroups wheel')), "User alice from 10.0.0.1 not allowed because none of user's groups are listed in AllowGroups");
  assert.equal(userNotAllowed(alice, '10.0.0.1', settings('AllowGroups st?ff')), null);
  assert.equal(userNotAllowed({ ...alice, groups: [] }, '10.0.0.1', settings('AllowGroups x')), 'User alice from 10.0.0.1 not allowed because not in any group');
});

test('the configuration takes away what a login may do: ForceCommand wins over command=, PermitTTY, AllowAgentForwarding', () => {
  const r = withConfigRestrictions({ ...UNRESTRICTED, command: 'key command' }, settings('ForceCommand admin\nPermitTTY no\nAllowAgentForwarding no'));
  assert.equal(r.command, 'admin');
  assert.equal(r.pty, false);
  assert.equal(r.agentForwarding, false);
  assert.equal(r.portForwarding, true);
  assert.equal(withConfigRestrictions({ ...UNRESTRICTED, command: 'key command' }, settings()).command, 'key command');
});

test('Match blocks reach a connection through its spec (user, groups, address, local address and port)', () => {
  const text = 'Match User alice Address 10.0.0.0/8 LocalPort 2222\n  PermitTTY no\nMatch Group staff\n  AllowAgentForwarding no\n';
  const parsed = parseSshdConfig(text, 'test_config', { readFile: () => null, glob: () => [] });
  const spec = matchSpec('alice', { remoteAddress: '::ffff:10.1.2.3', localAddress: '127.0.0.1', localPort: 2222 }, alice);
  assert.deepEqual(spec, { user: 'alice', groups: ['alice', 'staff'], addr: '10.1.2.3', host: '10.1.2.3', laddr: '127.0.0.1', lport: 2222 });
  const s = resolveSshdConfig(parsed, spec);
  assert.equal(s.permitTTY, false);
  assert.equal(s.allowAgentForwarding, false);
  assert.equal(resolveSshdConfig(parsed, { ...spec, lport: 22 }).permitTTY, true);
});

test('the forwarding policy follows AllowTcpForwarding, DisableForwarding, PermitOpen, PermitListen, GatewayPorts and logs refusals', async () => {
  const lines: string[] = [];
  const log = new SshdLog((l) => lines.push(l));
  const policy = (text: string) => forwardingPolicy(() => settings(text), log);
  const local = { host: '127.0.0.1', port: 80, originatorAddress: '127.0.0.1', originatorPort: 5, username: 'alice', remoteAddress: '10.0.0.1', remotePort: 4000 };
  const remote = { bindAddress: 'localhost', bindPort: 8080, username: 'alice', remoteAddress: '10.0.0.1', remotePort: 4000 };
  assert.equal(await policy('').forwardLocal!(local), true);
  assert.equal(await policy('AllowTcpForwarding remote').forwardLocal!(local), false);
  assert.equal(await policy('AllowTcpForwarding remote').forwardRemote!(remote), true);
  assert.equal(await policy('DisableForwarding yes').forwardRemote!(remote), false);
  assert.equal(await policy('PermitOpen 127.0.0.1:80').forwardLocal!(local), true);
  assert.equal(await policy('PermitOpen 127.0.0.1:81').forwardLocal!(local), false);
  assert.ok(lines.includes('Received request from 10.0.0.1 port 4000 to connect to host 127.0.0.1 port 80, but the request was denied.'), lines.join('\n'));
  assert.equal(await policy('PermitOpen none').forwardLocal!(local), false);
  assert.equal(await policy('PermitListen 9090').forwardRemote!(remote), false);
  assert.equal(await policy('PermitListen localhost:8080').forwardRemote!(remote), true);
  // GatewayPorts: no listens on loopback whatever was asked, yes on every interface, clientspecified where asked.
  assert.deepEqual(await policy('').forwardRemote!({ ...remote, bindAddress: '0.0.0.0' }), { listenAddress: 'localhost' });
  assert.equal(await policy('').forwardRemote!(remote), true);
  assert.deepEqual(await policy('GatewayPorts yes').forwardRemote!(remote), { listenAddress: '' });
  assert.equal(await policy('GatewayPorts clientspecified').forwardRemote!({ ...remote, bindAddress: '0.0.0.0' }), true);
  assert.equal(await policy('AllowStreamLocalForwarding local').forwardStreamlocal!({ socketPath: '/s', listen: true, username: 'alice' }), false);
  assert.equal(await policy('AllowStreamLocalForwarding local').forwardStreamlocal!({ socketPath: '/s', listen: false, username: 'alice' }), true);
});

test('judging an attempt: invalid users, PermitRootLogin, disabled methods; the lines sshd logs', async () => {
  const lines: string[] = [];
  const log = new SshdLog((l) => lines.push(l), 'verbose');
  const deps: AuthDeps = { log, canServe: () => null, logStyle: 'sshd', once: (_c, l) => log.info(l) };
  const ctx = (over: Partial<AuthContext>): AuthContext =>
    ({ username: 'alice', method: 'password', password: 'pw', passed: [], remoteAddress: '10.0.0.1', remotePort: 4000, prompt: async () => [], ...over }) as AuthContext;
  assert.equal(await judgeAttempt(ctx({ username: 'nobody-here' }), settings(), null, deps), false);
  assert.ok(lines.includes('Invalid user nobody-here from 10.0.0.1 port 4000'));
  // No password check wired: the method is not enabled, whatever the password.
  assert.equal(await judgeAttempt(ctx({}), settings(), alice, deps), false);
  const checked: (string | null)[] = [];
  const withPasswords: AuthDeps = {
    ...deps,
    checkPassword: async (a, _user, pw) => {
      checked.push(a?.name ?? null);
      return a !== null && pw === 'right';
    },
  };
  assert.deepEqual(await judgeAttempt(ctx({ password: 'right' }), settings(), alice, withPasswords), { restrictions: withConfigRestrictions(UNRESTRICTED, settings()) });
  assert.equal(await judgeAttempt(ctx({ password: 'wrong' }), settings(), alice, withPasswords), false);
  assert.ok(lines.includes('Failed password for alice from 10.0.0.1 port 4000 ssh2'));
  const root = { ...alice, name: 'root', uid: 0 };
  assert.equal(await judgeAttempt(ctx({ username: 'root', password: 'right' }), settings(), root, withPasswords), false);
  assert.ok(lines.includes('ROOT LOGIN REFUSED FROM 10.0.0.1 port 4000'));
  assert.notEqual(await judgeAttempt(ctx({ username: 'root', password: 'right' }), settings('PermitRootLogin yes'), root, withPasswords), false);
  assert.equal(await judgeAttempt(ctx({ password: 'right' }), settings('PasswordAuthentication no'), alice, withPasswords), false);
  const partial = await judgeAttempt(ctx({ password: 'right' }), settings('AuthenticationMethods password,publickey'), alice, withPasswords);
  assert.deepEqual((partial as { partial: string[] }).partial, ['publickey']);
  assert.equal(await judgeAttempt(ctx({ username: 'alice', password: 'right' }), settings(), alice, { ...withPasswords, canServe: () => 'not this one' }), false);
  assert.ok(lines.includes('User alice from 10.0.0.1 not allowed because not this one'));
  // Every password attempt costs a check, also those refused before it (unknown user, root, not allowed): the same work each time.
  checked.length = 0;
  await judgeAttempt(ctx({ username: 'nobody-here' }), settings(), null, withPasswords);
  await judgeAttempt(ctx({ username: 'root', password: 'right' }), settings(), root, withPasswords);
  await judgeAttempt(ctx({ password: 'right' }), settings('DenyUsers alice'), alice, withPasswords);
  await judgeAttempt(ctx({ password: 'wrong' }), settings(), alice, withPasswords);
  assert.deepEqual(checked, [null, null, null, 'alice']);
  assert.ok(lines.includes('Failed password for invalid user nobody-here from 10.0.0.1 port 4000 ssh2'));
  assert.equal(await judgeAttempt(ctx({ password: 'right' }), settings('RefuseConnection yes'), alice, withPasswords), false);
  assert.ok(lines.includes('Refusing connection from 10.0.0.1 port 4000 for user alice (RefuseConnection)'));
});

test('RequiredRSASize refuses a smaller RSA user key before any file is read, in sshd\'s words; PubkeyAuthOptions reach the restrictions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacred-rsa-size-'));
  try {
    const blob = encodePublicKey(rsaKeyPair(2048).publicKey);
    const keys = join(dir, 'authorized_keys');
    writeFileSync(keys, formatOpenSshPublicKeyLine(blob, 'rsa2048') + '\n');
    const lines: string[] = [];
    const log = new SshdLog((l) => lines.push(l), 'info');
    const deps: AuthDeps = { log, canServe: () => null, logStyle: 'sshd', once: (_c, l) => log.info(l) };
    const ctx = { username: 'alice', method: 'publickey', publicKey: publicKeyInfo('rsa-sha2-512', blob), signed: true, passed: [], remoteAddress: '10.0.0.1', remotePort: 4000, prompt: async () => [] } as AuthContext;
    const base = `AuthorizedKeysFile ${keys}\nStrictModes no\n`;
    assert.notEqual(await judgeAttempt(ctx, settings(base), alice, deps), false);
    assert.notEqual(await judgeAttempt(ctx, settings(base + 'RequiredRSASize 2048'), alice, deps), false);
    assert.equal(lines.length, 0);
    assert.equal(await judgeAttempt(ctx, settings(base + 'RequiredRSASize 3072'), alice, deps), false);
    assert.deepEqual(lines, ['refusing RSA key: Invalid key length']);
    // In a Match block, for the users it names.
    const match = base + 'Match User alice\n  RequiredRSASize 4096';
    assert.equal(await judgeAttempt(ctx, settings(match, { user: 'alice' }), alice, deps), false);
    assert.notEqual(await judgeAttempt(ctx, settings(match, { user: 'bob' }), alice, deps), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const keyAllows = { ...UNRESTRICTED, noTouchRequired: true };
  assert.equal(withConfigRestrictions(keyAllows, settings('')).noTouchRequired, true);
  assert.equal(withConfigRestrictions(keyAllows, settings('PubkeyAuthOptions touch-required')).noTouchRequired, false);
  assert.equal(withConfigRestrictions(UNRESTRICTED, settings('PubkeyAuthOptions verify-required')).verifyRequired, true);
  assert.equal(withConfigRestrictions(UNRESTRICTED, settings('')), UNRESTRICTED);
});

test('passwd lines are checked field by field; log levels and key names are sshd\'s', () => {
  assert.deepEqual(parsePasswdLine('alice:x:1000:1000:Alice:/home/alice:/bin/bash\n', 'alice'), { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash' });
  assert.equal(parsePasswdLine('alice:x:1000:1000:Alice:/home/alice:', 'alice')?.shell, '/bin/sh');
  assert.equal(parsePasswdLine('bob:x:1000:1000::/home/bob:/bin/sh', 'alice'), null);
  assert.equal(parsePasswdLine('alice:x:-1:1000::/home/alice:/bin/sh', 'alice'), null);
  assert.equal(parsePasswdLine('alice:x:1000:1000::relative:/bin/sh', 'alice'), null);
  assert.equal(parsePasswdLine('alice:x:1000:1000::/h', 'alice'), null);
  assert.equal(parseLogLevel('DEBUG'), 'debug1');
  assert.equal(parseLogLevel('VERBOSE'), 'verbose');
  assert.equal(parseLogLevel('LOUD'), null);
  const lines: string[] = [];
  const log = new SshdLog((l) => lines.push(l), 'info');
  log.verbose('hidden');
  log.debug(1, 'hidden');
  log.error('shown');
  log.level = 'debug2';
  log.debug(2, 'deep');
  log.debug(3, 'hidden');
  log.level = 'quiet';
  log.error('hidden');
  assert.deepEqual(lines, ['shown', 'debug2: deep']);
  assert.equal(sshdKeyName('ssh-ed25519'), 'ED25519');
  assert.equal(sshdKeyName('ssh-ed25519-cert-v01@openssh.com'), 'ED25519-CERT');
  assert.equal(sshdKeyName('ecdsa-sha2-nistp384'), 'ECDSA');
  assert.equal(sshdKeyName('sk-ssh-ed25519@openssh.com'), 'ED25519-SK');
});

test('embedded settings (npm start) are sshd defaults with overrides, the same for every connection', () => {
  const c = embeddedConfig({ ports: [2222], perSourceMaxStartups: 5 });
  assert.deepEqual(c.global.ports, [2222]);
  assert.equal(c.global.perSourceMaxStartups, 5);
  assert.equal(c.global.maxAuthTries, 6);
  assert.equal(c.resolve({ user: 'x', addr: '1.2.3.4' }), c.global);
});

test('StrictModes: a file or directory others can write is refused; -E appends log lines to a file', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacred-strict-'));
  try {
    const uid = process.getuid?.() ?? 0;
    const me: Account = { ...alice, uid, home };
    const path = join(home, 'authorized_keys');
    writeFileSync(path, '', { mode: 0o600 });
    assert.equal(strictModesProblem(path, me), null);
    chmodSync(path, 0o666);
    assert.equal(strictModesProblem(path, me), `bad ownership or modes for file ${path}`);
    chmodSync(path, 0o600);
    chmodSync(home, 0o777);
    assert.equal(strictModesProblem(path, me), `bad ownership or modes for directory ${home}`);
    chmodSync(home, 0o700);
    // A file outside the home directory: every directory up to / is checked (/tmp is world-writable).
    assert.match(strictModesProblem(path, { ...me, home: '/nonexistent-home' }) ?? '', /bad ownership or modes for directory/);
    const file = join(home, 'log');
    const write = logWriter(file, () => assert.fail('not on stderr'));
    write('one');
    write('two');
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a Match block setting what nacred applies per server is reported; a missing file is its own error', () => {
  const files: Record<string, string> = { '/etc/x/sshd_config': 'MaxAuthTries 4\nMatch User bob\n  MaxAuthTries 2\n  PermitTTY no\n' };
  const io = { readFile: (p: string) => files[p] ?? null, glob: () => [] };
  const warnings: string[] = [];
  const c = loadConfigFile('/etc/x/sshd_config', {}, (w) => warnings.push(w), io);
  assert.deepEqual(warnings, ['/etc/x/sshd_config line 3: maxauthtries inside a Match block: nacred applies the global value to every connection']);
  assert.equal(c.global.maxAuthTries, 4);
  assert.equal(c.resolve({ user: 'bob' }).permitTTY, false);
  assert.throws(() => loadConfigFile('/etc/x/none', {}, () => undefined, io), MissingConfigError);
});

test("how connections end, in sshd's words", () => {
  const lines: string[] = [];
  const log = new SshdLog((l) => lines.push(l), 'info');
  const once = new OncePerConnection(log);
  const server = new EventEmitter() as unknown as Server;
  logServerEvents(server, log, once);
  const conn = (port: number, username: string | null = null) => ({ remoteAddress: '10.0.0.1', remotePort: port, username });
  const end = (c: ReturnType<typeof conn>, err: unknown) => (server as unknown as EventEmitter).emit('disconnect', c, err);
  end(conn(1, 'alice'), new DisconnectError(DisconnectReason.BY_APPLICATION, 'disconnected by user', true));
  end(conn(2), new TimeoutError('login grace time', 120_000));
  end(conn(3), new TimeoutError('handshake (version line and key exchange)', 20_000));
  end(conn(4, 'alice'), new TimeoutError('keepalive (peer stopped answering)', 45_000));
  once.tried({ remoteAddress: '10.0.0.1', remotePort: 5, username: 'bob' });
  end(conn(5), new ProtocolError('too many authentication failures', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE));
  end(conn(6), new DisconnectError(DisconnectReason.CONNECTION_LOST, 'connection lost', false));
  end(conn(7, 'alice'), null);
  assert.deepEqual(lines, [
    'Received disconnect from 10.0.0.1 port 1:11: disconnected by user',
    'Disconnected from user alice 10.0.0.1 port 1',
    'Timeout before authentication for 10.0.0.1 port 2',
    'Timeout before authentication for 10.0.0.1 port 3',
    'Timeout, client not responding from user alice 10.0.0.1 port 4',
    'maximum authentication attempts exceeded for bob from 10.0.0.1 port 5 ssh2 [preauth]',
    'Disconnecting authenticating user bob 10.0.0.1 port 5: too many authentication failures [preauth]',
    'Connection closed by 10.0.0.1 port 6 [preauth]',
    'Disconnecting user alice 10.0.0.1 port 7: server stopping',
  ]);
});

test('a configuration without Match gives every connection the global settings without building a Match spec; with one, the spec decides', () => {
  const files: Record<string, string> = {
    '/etc/x/plain': 'PermitTTY no\n',
    '/etc/x/matching': 'Match User bob\n  PermitTTY no\n',
    '/etc/x/all': 'Match All\n  PermitTTY no\n',
  };
  const io = { readFile: (p: string) => files[p] ?? null, glob: () => [] };
  const plain = loadConfigFile('/etc/x/plain', {}, () => undefined, io);
  assert.equal(plain.hasMatch, false);
  assert.equal(settingsOf(plain, () => assert.fail('no spec needed')), plain.global);
  // What resolve would have said for any spec.
  assert.deepEqual(plain.resolve({ user: 'bob', addr: '10.0.0.1' }), plain.global);
  const matching = loadConfigFile('/etc/x/matching', {}, () => undefined, io);
  assert.equal(matching.hasMatch, true);
  assert.equal(settingsOf(matching, () => ({ user: 'bob' })).permitTTY, false);
  assert.equal(settingsOf(matching, () => ({ user: 'alice' })).permitTTY, true);
  const all = loadConfigFile('/etc/x/all', {}, () => undefined, io);
  assert.equal(settingsOf(all, () => ({ user: 'alice' })).permitTTY, false);
  assert.equal(embeddedConfig({}).hasMatch, false);
});

test('RequiredRSASize fails closed: an RSA blob whose size cannot be read counts as too small', async () => {
  const { rsaKeyTooSmall } = await import('../../src/cli/sshd/auth-policy.js');
  const named = (type: string, rest: number[]): Uint8Array => Uint8Array.from([0, 0, 0, type.length, ...Buffer.from(type), ...rest]);
  assert.equal(rsaKeyTooSmall(named('ssh-rsa', [0, 0, 0, 9]), 1024), true);
  assert.equal(rsaKeyTooSmall(named('ssh-rsa-cert-v01@openssh.com', []), 1024), true);
  assert.equal(rsaKeyTooSmall(named('ssh-ed25519', [1, 2]), 1024), false);
  assert.equal(rsaKeyTooSmall(new Uint8Array([0, 0, 9]), 1024), false);
});
