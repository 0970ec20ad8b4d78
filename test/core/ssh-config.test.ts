// ssh_config resolution, in memory: Host and Match blocks, first value wins,
// Include, % tokens, the final pass, command-line lines, and errors naming
// file and line. The same files are compared with OpenSSH's own `ssh -G` in
// test/interop/ssh-config.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveSshConfig, printSshConfig, flagToConfigLine, forwardArguments, parseForwardSpec, type SshConfigIO, type SshConfigRequest } from '../../src/config/index.js';
import { lexLine } from '../../src/config/ssh-config-lex.js';
import { parsePermitRemoteOpen, PermitRemoteOpenError, remoteOpenPermitted } from '../../src/config/permit-remote-open.js';
import { ConfigError } from '../../src/errors.js';
import { fuzz } from './fuzz-helpers.js';

function memoryIO(files: Record<string, string>, extra: Partial<SshConfigIO> = {}): SshConfigIO & { ran: string[] } {
  const ran: string[] = [];
  return {
    readFile: (p, check) => {
      if (check && p.includes('world-writable')) throw new ConfigError(`Bad owner or permissions on ${p}`, { file: p });
      return files[p] ?? null;
    },
    glob: (pattern) => {
      const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
    exec: (cmd) => {
      ran.push(cmd);
      return cmd.startsWith('true');
    },
    localUser: 'alice',
    localHost: 'box.example.org',
    home: '/home/alice',
    uid: 1000,
    env: { HOME: '/home/alice', SOCKDIR: '/run/sock' },
    ran,
    ...extra,
  };
}

const F = '/cfg';
function resolve(text: string, host: string, more: Partial<SshConfigRequest> = {}, files: Record<string, string> = {}, io: Partial<SshConfigIO> = {}) {
  return resolveSshConfig({ host, configFile: F, ...more }, memoryIO({ [F]: text, ...files }, io));
}

test('lines: Keyword value, Keyword=value, quotes, comments, case-insensitive keywords', () => {
  assert.deepEqual(lexLine('  Port 22'), { keyword: 'port', args: ['22'], rest: '22' });
  assert.deepEqual(lexLine('Port=22'), { keyword: 'port', args: ['22'], rest: '22' });
  assert.deepEqual(lexLine('Port = 22 # note'), { keyword: 'port', args: ['22'], rest: '22 # note' });
  assert.deepEqual(lexLine('IDENTITYFILE "~/my keys/id" '), { keyword: 'identityfile', args: ['~/my keys/id'], rest: '"~/my keys/id"' });
  assert.deepEqual(lexLine("SetEnv A='x y' B=\\\"q"), { keyword: 'setenv', args: ['A=x y', 'B="q'], rest: "A='x y' B=\\\"q" });
  assert.equal(lexLine('# Port 22'), 'empty');
  assert.equal(lexLine('   '), 'empty');
  assert.deepEqual(lexLine('Port'), { error: 'no argument after keyword "port"' });
  assert.deepEqual(lexLine('User "bob'), { error: 'invalid quotes' });
});

const HOSTS = `
Host *.internal !secret.internal
  User ops
  Port 2201
Host db1 db2
  HostName %h.db.example.com
  Port 2202
  IdentityFile ~/.ssh/db
Host db?
  User dba
  IdentityFile ~/.ssh/db-extra
Host *
  User fallback
  Port 22
  IdentityFile ~/.ssh/id_ed25519
`;

test('Host: wildcards, negation, first value wins, list keywords add up', () => {
  const table: [string, string, number, string, string[]][] = [
    ['web.internal', 'ops', 2201, 'web.internal', ['~/.ssh/id_ed25519']],
    ['secret.internal', 'fallback', 22, 'secret.internal', ['~/.ssh/id_ed25519']],
    ['db1', 'dba', 2202, 'db1.db.example.com', ['~/.ssh/db', '~/.ssh/db-extra', '~/.ssh/id_ed25519']],
    ['db3', 'dba', 22, 'db3', ['~/.ssh/db-extra', '~/.ssh/id_ed25519']],
    ['Other', 'fallback', 22, 'other', ['~/.ssh/id_ed25519']],
  ];
  for (const [host, user, port, hostName, ids] of table) {
    const c = resolve(HOSTS, host);
    assert.deepEqual([c.user, c.port, c.hostName, c.values.IdentityFile], [user, port, hostName, ids], host);
  }
});

test('Match: host (after HostName), originalhost, user, localuser, exec, all, negation', () => {
  const text = `
Host short
  HostName long.example.com
Match host long.example.com originalhost short
  Port 1001
Match user root
  Port 1002
Match !localuser bob exec "true %h %p %r %n"
  User matched-%u
Match exec "false"
  Compression yes
Match localuser=alice host=!nope,*
  Tag t1
Match all
  BatchMode yes
`;
  const io = memoryIO({ [F]: text });
  const c = resolveSshConfig({ host: 'short', configFile: F }, io);
  assert.equal(c.port, 1001);
  assert.equal(c.values.User, 'matched-%u');
  assert.equal(c.values.Compression, undefined);
  assert.equal(c.values.Tag, 't1');
  assert.equal(c.values.BatchMode, true);
  assert.deepEqual(io.ran, ['true long.example.com 1001 alice short', 'false']);
  // User given first: Match user sees it.
  assert.equal(resolve(text, 'x', { commandLine: ['User root'] }).port, 1002);
});

test('Match version, sessiontype, command, tagged; bad Match lines', () => {
  const text = `
Match sessiontype exec command "uptime*"
  Port 1
Match sessiontype shell
  Port 2
Match version Nacre*
  User v
Match tagged prod
  Compression yes
`;
  assert.equal(resolve(text, 'h', { command: 'uptime -p' }).port, 1);
  assert.equal(resolve(text, 'h').port, 2);
  assert.equal(resolve(text, 'h').user, 'v');
  assert.equal(resolve(text, 'h', { commandLine: ['Tag prod'] }).values.Compression, true);
  // localnetwork: CIDR lists against the local interfaces' addresses.
  const net = 'Match localnetwork 10.1.0.0/16,192.168.0.0/24\n  Port 3\nMatch localnetwork fe80::/10\n  User six\n';
  const nets = resolve(net, 'h', {}, {}, { localAddresses: ['127.0.0.1', '10.1.2.3', '::1'] });
  assert.deepEqual([nets.port, nets.user], [3, 'alice']);
  assert.equal(resolve(net, 'h', {}, {}, { localAddresses: ['fe80::1'] }).user, 'six');
  const unknown = resolve(net, 'h');
  assert.equal(unknown.port, 22);
  assert.match(unknown.warnings[0]!, /line 1: Match localnetwork/);
  assert.throws(() => resolve('Match localnetwork 10.0.0.0/99\n', 'h', {}, {}, { localAddresses: ['10.0.0.1'] }), (e: unknown) => e instanceof ConfigError && e.line === 1);
  for (const [bad, why] of [
    ['Match', 'no argument'],
    ['Match host', "missing argument for Match 'host'"],
    ['Match all host x', "'all' cannot be combined"],
    ['Match nosuch x', 'Unsupported Match attribute nosuch'],
  ]) {
    assert.throws(() => resolve(`Port 1\n${bad}\n`, 'h'), (e: unknown) => e instanceof ConfigError && e.file === F && e.line === 2 && e.message.includes(why!), bad);
  }
});

test('Match final: a second pass with the final host name, on top of the first', () => {
  const text = `
Host bar
  HostName Foo.Example
Match final host foo.example
  Port 7
Match canonical
  User canon
Match !final
  Compression yes
`;
  const c = resolve(text, 'bar');
  assert.equal(c.hostName, 'foo.example');
  assert.equal(c.port, 7);
  assert.equal(c.user, 'canon');
  assert.equal(c.values.Compression, true);
  // Without `Match final` there is one pass, and `canonical` does not match.
  const d = resolve('Host bar\n HostName x\nMatch canonical\n User canon\n', 'bar');
  assert.equal(d.user, 'alice');
});

test('Include: relative to ~/.ssh (user) or /etc/ssh (system), globs, ~, nested Match kept inside', () => {
  const files = {
    '/home/alice/.ssh/config': 'Include conf.d/*.conf\nHost a\n  Port 11\n',
    '/home/alice/.ssh/conf.d/1.conf': 'Host a\n  User from-1\nMatch all\n',
    '/home/alice/.ssh/conf.d/2.conf': 'Host b\n  User from-2\n',
    '/home/alice/.ssh/conf.d/skip.txt': 'Host a\n  User never\n',
    '/etc/ssh/ssh_config': 'Include ssh_config.d/*\nHost *\n  Port 99\n',
    '/etc/ssh/ssh_config.d/x': 'Host a\n  Compression yes\n',
  };
  const io = memoryIO(files);
  const a = resolveSshConfig({ host: 'a' }, io);
  assert.deepEqual([a.user, a.port, a.values.Compression], ['from-1', 11, true]);
  const b = resolveSshConfig({ host: 'b' }, io);
  assert.deepEqual([b.user, b.port], ['from-2', 99]);
  // An Include inside an inactive block reads the file but applies nothing from it.
  const c = resolve('Host other\n  Include /inc\nHost *\n  User outer\n', 'h', {}, { '/inc': 'Match all\n  User included\n' });
  assert.equal(c.user, 'outer');
  // ~ in a system file is refused; a missing include is fine; recursion is bounded.
  assert.equal(resolveSshConfig({ host: 'h', configFile: 'none' }, memoryIO({ '/home/alice/.ssh/config': 'Port 3\n' })).port, 22);
  assert.equal(resolveSshConfig({ host: 'h' }, memoryIO({})).port, 22);
  assert.throws(
    () => resolveSshConfig({ host: 'h' }, memoryIO({ '/etc/ssh/ssh_config': 'Include ~/x\n' })),
    (e: unknown) => e instanceof ConfigError && e.line === 1 && e.message.includes('bad include path'),
  );
  assert.equal(resolve('Include /none/*.conf\nPort 5\n', 'h').port, 5);
  // Included files (and ~/.ssh/config) are read with the permission check; the -F file is not.
  assert.throws(() => resolve('Include /world-writable\n', 'h', {}, { '/world-writable': 'Port 1\n' }), (e: unknown) => e instanceof ConfigError && e.message.includes('Bad owner or permissions'));
  assert.throws(() => resolveSshConfig({ host: 'h', userConfigFile: '/world-writable' }, memoryIO({ '/world-writable': '' })), ConfigError);
  assert.equal(resolveSshConfig({ host: 'h', configFile: '/world-writable' }, memoryIO({ '/world-writable': 'Port 4\n' })).port, 4);
  assert.throws(() => resolve('Port 1\nInclude /x/${NOPE}\n', 'h'), (e: unknown) => e instanceof ConfigError && e.line === 2 && e.message.includes('NOPE is not set'));
  assert.throws(() => resolve('Port 1\n\nMatch exec "x %z"\n', 'h'), (e: unknown) => e instanceof ConfigError && e.line === 3 && e.message.includes('%z'));
  assert.throws(() => resolve('Include /cfg\n', 'h'), (e: unknown) => e instanceof ConfigError && e.message.includes('Too many recursive'));
});

test('% tokens: HostName %h, paths with every token, the connection hash, unallowed tokens', () => {
  const c = resolve('Host x\n  HostName %h.example.com\n  User bob\n  Port 2222\n  ProxyJump j1\n', 'x');
  assert.equal(c.hostName, 'x.example.com');
  const t = c.tokens;
  assert.deepEqual([t.host, t.originalHost, t.port, t.remoteUser, t.localUser, t.localHost, t.home, t.uid, t.jumpHost], ['x.example.com', 'x', 2222, 'bob', 'alice', 'box.example.org', '/home/alice', 1000, 'j1']);
  const hash = createHash('sha1').update('box.example.orgx.example.com2222bobj1').digest('hex');
  const out = printSshConfig(resolve('Host x\n HostName %h.example.com\n User bob\n Port 2222\n ProxyJump j1\n ControlPath ~/c/%C.%%.%L.%l.%i.%d.%u.%r.%n.%p.%h.%k\n', 'x'));
  assert.ok(out.includes(`controlpath /home/alice/c/${hash}.%.box.box.example.org.1000./home/alice.alice.bob.x.2222.x.example.com.x\n`), out);
  assert.throws(() => printSshConfig(resolve('HostName h\nControlPath /%z\n', 'x')), (e: unknown) => e instanceof ConfigError && e.message.includes('%z'));
  assert.throws(() => resolve('HostName %p\n', 'x'), (e: unknown) => e instanceof ConfigError && e.message.includes('%p'));
  const env = printSshConfig(resolve('IdentityAgent ${SOCKDIR}/agent\n', 'x'), { SOCKDIR: '/run/sock' });
  assert.ok(env.includes('identityagent /run/sock/agent\n'));
});

test('command-line lines come first and win; flags become lines', () => {
  const c = resolve('Port 1\nUser filed\nIdentityFile ~/b\n', 'h', { commandLine: ['Port=2', flagToConfigLine('i', '~/a k')!, flagToConfigLine('L', forwardArguments(parseForwardSpec('[::1]:80:h:8080', 'local')))!] });
  assert.equal(c.port, 2);
  assert.equal(c.user, 'filed');
  assert.deepEqual(c.values.IdentityFile, ['~/a k', '~/b']);
  assert.deepEqual(c.values.LocalForward, [{ type: 'local', listen: { kind: 'tcp', host: '::1', port: 80 }, connect: { kind: 'tcp', host: 'h', port: 8080 } }]);
  assert.equal(flagToConfigLine('x', 'y'), null);
  assert.throws(() => resolve('', 'h', { commandLine: ['Host x'] }), (e: unknown) => e instanceof ConfigError && e.file === 'command-line' && e.line === 1);
});

test('errors name file and line: bad values, misspelled keywords; unsupported keywords warn once', () => {
  const cases: [string, string][] = [
    ['Port 99999', "Bad port '99999'"],
    ['Port 0', "Bad port '0'"],
    ['Prot 22', 'Bad configuration option: prot'],
    ['StrictHostKeyChecking maybe', 'unsupported option "maybe"'],
    ['ConnectTimeout 5x', 'invalid time value'],
    ['LocalForward 8080', 'Missing target argument'],
    ['LocalForward 0 h:80', 'Bad forwarding specification'],
    ['User a b', 'garbage at end of line'],
    ['ProxyJump a@@b', 'Invalid ProxyJump'],
    ['Ciphers aes128-ctr,,x', "Bad SSH2 cipher list 'aes128-ctr,,x'"],
    ['KexAlgorithms +nope', 'Nacre does not implement nope'],
  ];
  for (const [line, why] of cases) {
    // Checked even inside a block that does not apply, as ssh does.
    assert.throws(
      () => resolve(`Host *\n  User x\nHost nothing\n  ${line}\n`, 'h'),
      (e: unknown) => e instanceof ConfigError && e.file === F && e.line === 4 && e.message.startsWith(`${F} line 4: `) && e.message.includes(why),
      line,
    );
  }
  const c = resolve('GSSAPIAuthentication yes\nForwardX11 yes\nIgnoreUnknown Foo*\nFooBar 1\n', 'h');
  assert.deepEqual(c.warnings, [`${F} line 1: Unsupported option "gssapiauthentication" (not implemented by Nacre): ignored`, `${F} line 2: Unsupported option "forwardx11" (not implemented by Nacre): ignored`]);
  // The final pass reads the file again; the warning is still given once.
  assert.equal(resolve('ForwardX11 yes\nMatch final\n', 'h').warnings.length, 1);
  // A value that asks for what Nacre does anyway is not warned about (ssh prints nothing either).
  assert.deepEqual(resolve('ForwardX11 no\nGSSAPIAuthentication=no\nCheckHostIP false\nTunnel no\nTunnel yes\n', 'h').warnings, [
    `${F} line 5: Unsupported option "tunnel" (not implemented by Nacre): ignored`,
  ]);
  assert.throws(() => resolveSshConfig({ host: 'h', configFile: '/missing' }, memoryIO({})), (e: unknown) => e instanceof ConfigError && e.message.includes('/missing'));
});

test("hosts and users with shell syntax are refused, as ssh does", () => {
  for (const host of ['a;b', 'a b', '-x', 'a$b', 'a,b', 'a\\b', 'a\x01']) {
    assert.throws(() => resolve('', host), (e: unknown) => e instanceof ConfigError && e.message === 'hostname contains invalid characters', host);
  }
  for (const user of ['"u;v"', '-u', '"a -b"', 'u\\\\', '"a|b"']) {
    assert.throws(() => resolve(`User ${user}\n`, 'h'), (e: unknown) => e instanceof ConfigError && e.message === 'remote username contains invalid characters', user);
  }
  assert.equal(resolve('User "first last"\n', 'h').user, 'first last');
  assert.equal(resolve('HostName "a;b"\n', 'h').hostName, 'a;b');
});

test('typed values: flags, enums, times, RekeyLimit, EscapeChar, AddKeysToAgent, ControlPersist, SetEnv', () => {
  const c = resolve(
    [
      'Compression true',
      'StrictHostKeyChecking off',
      'ConnectTimeout 1m30s',
      'ServerAliveInterval 15',
      'RekeyLimit 1G 1h',
      'EscapeChar ^A',
      'AddKeysToAgent confirm 10m',
      'ControlPersist 5m',
      'SetEnv A=1 B=2',
      'SetEnv A=3',
      'ForwardAgent ~/agent.sock',
      'ProxyCommand nc %h %p',
      'ProxyJump ignored',
    ].join('\n'),
    'h',
  );
  const v = c.values;
  assert.deepEqual(
    [v.Compression, v.StrictHostKeyChecking, v.ConnectTimeout, v.ServerAliveInterval, v.RekeyLimit, v.EscapeChar, v.AddKeysToAgent, v.ControlPersist, v.SetEnv, v.ForwardAgent, v.ProxyCommand, v.ProxyJump],
    [true, 'no', 90, 15, { bytes: 1024 ** 3, seconds: 3600 }, '\x01', { mode: 'confirm', lifetime: 600 }, 300, ['A=1', 'B=2'], '~/agent.sock', 'nc %h %p', undefined],
  );
});

test('-G printer: order, defaults, ssh-style spellings', () => {
  const out = printSshConfig(resolve('Host h\n StrictHostKeyChecking no\n ControlMaster auto\n ProxyJump a,u@[::1]:22\n LocalForward 8080 h:80\n RemoteForward 9000\n', 'h'));
  const lines = out.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 4), ['host h', 'user alice', 'hostname h', 'port 22']);
  for (const l of ['stricthostkeychecking false', 'controlmaster auto', 'proxyjump a,u@[::1]:22', 'localforward 8080 [h]:80', 'remoteforward 9000 [socks]:0', 'identityfile ~/.ssh/id_rsa', 'userknownhostsfile /home/alice/.ssh/known_hosts /home/alice/.ssh/known_hosts2', 'updatehostkeys true', 'connecttimeout none', 'escapechar ~', 'rekeylimit 0 0']) {
    assert.ok(lines.includes(l), `${l} in\n${out}`);
  }
});

test('fuzz: random, truncated and bit-flipped config files give a config or ConfigError only', () => {
  const samples = [HOSTS, 'Ciphers ^aes128-ctr\nMACs -hmac-sha1*\nKexAlgorithms curve25519-sha256\n', 'Include /inc*\nMatch host a,!b user x exec "true %h"\n  Port 22\n  LocalForward [::1]:1:/s\nMatch final\n  SetEnv A="1 2"\n  EscapeChar ^B\n'].map((s) => new TextEncoder().encode(s));
  const n = fuzz(
    'ssh-config',
    samples,
    4000,
    (bytes) => {
      const text = new TextDecoder().decode(bytes);
      const c = resolveSshConfig({ host: 'db1', configFile: F }, memoryIO({ [F]: text, '/inc1': text.slice(0, 40) }));
      printSshConfig(c);
    },
    (e) => e instanceof ConfigError,
  );
  assert.ok(n > 4000);
});

test('trust-narrowing keywords are read, not ignored: RequiredRSASize, CASignatureAlgorithms, PermitRemoteOpen (F14)', () => {
  const c = resolve('Host h\n  RequiredRSASize 3072\n  CASignatureAlgorithms ssh-ed25519,rsa-sha2-512\n  PermitRemoteOpen 127.0.0.1:8080 [::1]:* *:22\n', 'h');
  assert.deepEqual(c.warnings, []);
  assert.equal(c.values.RequiredRSASize, 3072);
  assert.equal(c.values.CASignatureAlgorithms, 'ssh-ed25519,rsa-sha2-512');
  assert.deepEqual(c.values.PermitRemoteOpen, ['127.0.0.1:8080', '[::1]:*', '*:22']);
  const lines = printSshConfig(c).split('\n');
  for (const l of ['requiredrsasize 3072', 'casignaturealgorithms ssh-ed25519,rsa-sha2-512', 'permitremoteopen 127.0.0.1:8080 [::1]:* *:22']) assert.ok(lines.includes(l), l);
  // Defaults, and ssh's order: requiredrsasize after serveraliveinterval, casignaturealgorithms after kexalgorithms, permitremoteopen before addkeystoagent.
  const d = printSshConfig(resolve('', 'h')).split('\n');
  const at = (k: string) => d.findIndex((l) => l.split(' ')[0] === k);
  assert.equal(d[at('requiredrsasize')], 'requiredrsasize 1024');
  assert.equal(d[at('permitremoteopen')], 'permitremoteopen any');
  assert.equal(d[at('casignaturealgorithms')], 'casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256');
  assert.equal(at('requiredrsasize'), at('serveraliveinterval') + 1);
  assert.equal(at('casignaturealgorithms'), at('kexalgorithms') + 1);
  assert.equal(at('permitremoteopen') + 1, at('addkeystoagent'));
  // CASignatureAlgorithms takes + - ^ against the default list.
  const ca = (v: string) => printSshConfig(resolve(`CASignatureAlgorithms ${v}\n`, 'h')).split('\n').find((l) => l.startsWith('casignaturealgorithms '));
  assert.equal(ca('-rsa-*'), 'casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521');
  assert.equal(ca('+ssh-rsa'), 'casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa');
  assert.equal(ca('^rsa-sha2-256'), 'casignaturealgorithms rsa-sha2-256,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512');
  // Bad values are errors naming the line (ssh's words), even in a block that does not apply.
  for (const [line, why] of [
    ['PermitRemoteOpen host', 'bad port number in permitremoteopen'],
    ['PermitRemoteOpen host:0', 'bad port number in permitremoteopen'],
    ['PermitRemoteOpen host:x', 'bad port number in permitremoteopen'],
    ['PermitRemoteOpen host/22', 'missing host in permitremoteopen'],
    ['PermitRemoteOpen [::1', 'missing host in permitremoteopen'],
    ['PermitRemoteOpen a:22 none', '"none" argument must appear alone'],
    ['RequiredRSASize big', "Bad number 'big'"],
    ['CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com', 'Nacre does not implement ssh-ed25519-cert-v01@openssh.com'],
  ] as const) {
    assert.throws(
      () => resolve(`Host nothing\n  ${line}\n`, 'h'),
      (e: unknown) => e instanceof ConfigError && e.line === 2 && e.message.includes(why),
      line,
    );
  }
});

test('RefuseConnection: an applying line ends the resolution with its argument (OpenSSH 10.1); elsewhere it is only checked', () => {
  assert.throws(
    () => resolve('Host other\n  RefuseConnection never\nHost forbidden\n  RefuseConnection "use the bastion"\n', 'forbidden'),
    (e: unknown) => e instanceof ConfigError && e.file === F && e.line === 4 && e.message === `${F} line 4: RefuseConnection: use the bastion`,
  );
  assert.equal(resolve('Host forbidden\n  RefuseConnection no\n', 'allowed').warnings.length, 0);
  assert.throws(() => resolveSshConfig({ host: 'h', configFile: 'none', commandLine: ['RefuseConnection=stop'] }, memoryIO({})), (e: unknown) => e instanceof ConfigError && e.message === 'command-line line 1: RefuseConnection: stop');
  assert.throws(() => resolve('Host nothing\n  RefuseConnection\n', 'h'), (e: unknown) => e instanceof ConfigError && /argument/i.test(e.message));
  assert.throws(() => resolve('Host nothing\n  RefuseConnection a b\n', 'h'), (e: unknown) => e instanceof ConfigError && e.message.includes('garbage at end of line'));
});

test('PermitRemoteOpen rules: any, none, exact names and ports, * for either', () => {
  assert.equal(parsePermitRemoteOpen(['any']), 'any');
  assert.equal(parsePermitRemoteOpen(['NONE']), 'none');
  const rule = parsePermitRemoteOpen(['127.0.0.1:8080', '[::1]:*', '*:22', 'db.internal:5432']);
  const ok = (h: string, p: number) => remoteOpenPermitted(rule, h, p);
  assert.ok(ok('127.0.0.1', 8080) && ok('::1', 1) && ok('anything', 22) && ok('db.internal', 5432));
  assert.ok(!ok('127.0.0.1', 8081) && !ok('localhost', 8080) && !ok('DB.internal', 5432) && !ok('db.internal.', 5432));
  assert.ok(remoteOpenPermitted('any', 'x', 1) && !remoteOpenPermitted('none', 'x', 1));
  assert.throws(() => parsePermitRemoteOpen([]), PermitRemoteOpenError);
  const n = fuzz(
    'permit-remote-open',
    ['127.0.0.1:8080', '[::1]:*', '*:22', 'any'].map((s) => new TextEncoder().encode(s)),
    2000,
    (bytes) => {
      const r = parsePermitRemoteOpen(new TextDecoder().decode(bytes).split(' '));
      remoteOpenPermitted(r, 'h', 1);
    },
    (e) => e instanceof PermitRemoteOpenError,
  );
  assert.ok(n > 2000);
});
