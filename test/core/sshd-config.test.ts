// sshd_config in memory: first value wins and the keywords that add up,
// Match blocks per connection (User, Group, Address with CIDR and negation,
// Host, LocalAddress, LocalPort, All), Include (globs, relative to the ssh
// directory, Match blocks ending with their file, depth limit), errors
// naming file and line, %-expansion of AuthorizedKeysFile, -C specs, and
// the -T printer. The same kinds of files are compared with `sshd -T` in
// test/interop/sshd-config.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseSshdConfig,
  resolveSshdConfig,
  formatSshdConfig,
  expandAuthorizedPath,
  parseMatchSpec,
  checkSshdConfig,
  addressListMatch,
  SshdConfigError,
  sshdUserAccess,
  type SshdConfigIO,
  type SshdMatchSpec,
  type SshdParseOptions,
} from '../../src/config/index.js';

function memoryIO(files: Record<string, string>): SshdConfigIO & { globs: string[] } {
  const globs: string[] = [];
  return {
    globs,
    readFile: (p) => files[p] ?? null,
    glob: (pattern) => {
      globs.push(pattern);
      const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
  };
}

const F = '/etc/ssh/sshd_config';
function settings(text: string, spec?: SshdMatchSpec, files: Record<string, string> = {}, options?: SshdParseOptions) {
  return resolveSshdConfig(parseSshdConfig(text, F, memoryIO({ [F]: text, ...files }), options), spec);
}
function parseError(text: string, files: Record<string, string> = {}): SshdConfigError {
  try {
    parseSshdConfig(text, F, memoryIO({ [F]: text, ...files }));
  } catch (e) {
    assert.ok(e instanceof SshdConfigError, `expected SshdConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail(`no error for:\n${text}`);
}

test('defaults are sshd 10 defaults (where Nacre has the feature)', () => {
  const s = settings('');
  assert.deepEqual(s.ports, [22]);
  assert.equal(s.addressFamily, 'any');
  assert.deepEqual(s.hostKeys, ['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key']);
  assert.equal(s.permitRootLogin, 'prohibit-password');
  assert.equal(s.passwordAuthentication, true);
  assert.deepEqual(s.authorizedKeysFiles, ['.ssh/authorized_keys', '.ssh/authorized_keys2']);
  assert.deepEqual(s.maxStartups, { begin: 10, rate: 30, full: 100 });
  assert.equal(s.perSourceMaxStartups, Infinity);
  assert.equal(s.perSourcePenalties.enabled, true);
  assert.equal(s.perSourcePenalties.crash, 90);
  assert.equal(s.perSourcePenalties.overflow6, 'permissive');
  assert.equal(s.loginGraceTime, 120);
  assert.equal(s.maxAuthTries, 6);
  assert.equal(s.maxSessions, 10);
  assert.equal(s.permitOpen, 'any');
  assert.equal(s.subsystems.size, 0);
  assert.equal(s.passwordFile, '/etc/nacre/passwd');
  assert.equal(s.pidFile, '/run/nacred.pid');
  assert.ok(s.kexAlgorithms.includes('mlkem768x25519-sha256'));
  assert.ok(!s.kexAlgorithms.includes('diffie-hellman-group14-sha256'), 'sshd 10 offers no DH kex by default');
  assert.equal(s.requiredRsaSize, 1024);
  assert.equal(s.compression, true);
  assert.deepEqual(s.pubkeyAuthOptions, { touchRequired: false, verifyRequired: false });
  // sshd's default cut to what Nacre verifies (no security-key CA signatures): ssh-rsa is not in it.
  assert.deepEqual(s.caSignatureAlgorithms, ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256']);
});

test('RequiredRSASize, CASignatureAlgorithms, PubkeyAuthOptions, Compression: values, Match blocks, -T lines, errors', () => {
  const s = settings('RequiredRSASize 3072\nCASignatureAlgorithms ssh-*\nPubkeyAuthOptions none VERIFY-required\nCompression delayed\nRequiredRSASize 4096');
  assert.equal(s.requiredRsaSize, 3072);
  assert.deepEqual(s.caSignatureAlgorithms, ['ssh-ed25519', 'ssh-rsa']);
  assert.deepEqual(s.pubkeyAuthOptions, { touchRequired: false, verifyRequired: true });
  assert.equal(s.compression, true);
  assert.equal(settings('Compression no').compression, false);
  assert.equal(settings('Compression YES').compression, true);
  assert.deepEqual(settings('CASignatureAlgorithms +ssh-rsa').caSignatureAlgorithms.slice(-2), ['rsa-sha2-256', 'ssh-rsa']);
  assert.deepEqual(settings('CASignatureAlgorithms -rsa*,ecdsa*').caSignatureAlgorithms, ['ssh-ed25519']);
  const text = 'Match User alice\n  RequiredRSASize 2048\n  CASignatureAlgorithms ssh-ed25519\n  PubkeyAuthOptions touch-required verify-required';
  const alice = settings(text, { user: 'alice' });
  assert.equal(alice.requiredRsaSize, 2048);
  assert.deepEqual(alice.caSignatureAlgorithms, ['ssh-ed25519']);
  assert.deepEqual(alice.pubkeyAuthOptions, { touchRequired: true, verifyRequired: true });
  assert.equal(settings(text, { user: 'bob' }).requiredRsaSize, 1024);
  const printed = formatSshdConfig(alice).split('\n');
  // sshd -T's order: after clientalivecountmax, after strictmodes, after kexalgorithms, after permituserenvironment.
  const at = (prefix: string) => printed.findIndex((l) => l.startsWith(prefix + ' '));
  assert.equal(at('requiredrsasize'), at('clientalivecountmax') + 1);
  assert.equal(at('compression'), at('strictmodes') + 1);
  assert.equal(at('casignaturealgorithms'), at('kexalgorithms') + 1);
  assert.equal(at('pubkeyauthoptions'), at('permituserenvironment') + 1);
  assert.ok(printed.includes('requiredrsasize 2048') && printed.includes('compression yes') && printed.includes('casignaturealgorithms ssh-ed25519'));
  assert.ok(printed.includes('pubkeyauthoptions touch-required verify-required'));
  assert.ok(formatSshdConfig(settings('')).includes('\npubkeyauthoptions none\n'));
  assert.ok(formatSshdConfig(settings('Compression no')).includes('\ncompression no\n'));
  // A security-key CA algorithm asked for by name is left out with a warning, as other algorithm lists do.
  const parsed = parseSshdConfig('CASignatureAlgorithms sk-ssh-ed25519@openssh.com,ssh-ed25519', F, memoryIO({}));
  assert.deepEqual(parsed.warnings, [`${F} line 1: CASignatureAlgorithms: Nacre does not implement sk-ssh-ed25519@openssh.com; left out`]);
  for (const [bad, re] of [
    ['RequiredRSASize -1', /RequiredRSASize integer value too small/],
    ['RequiredRSASize big', /RequiredRSASize integer value invalid/],
    ['PubkeyAuthOptions bogus', /unsupported PubkeyAuthOptions option bogus/],
    ['PubkeyAuthOptions', /no argument after keyword/],
    ['Compression maybe', /unsupported option "maybe"/],
    ['Compression no yes', /extra arguments/],
    ['Match User a\n  Compression no', /Directive 'Compression' is not allowed within a Match block/],
    ['CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com', /Bad key types/],
    ['CASignatureAlgorithms sk-ssh-ed25519@openssh.com', /no algorithm left that Nacre implements/],
  ] as const) {
    assert.match(parseError(bad).message, re, bad);
  }
});

test('first value wins; Port, HostKey, ListenAddress, AcceptEnv, AllowUsers add up; MaxStartups: last line', () => {
  const s = settings(
    [
      'PasswordAuthentication no',
      'PasswordAuthentication yes',
      'Port 2222',
      'Port=2223',
      'HostKey /k1',
      'HostKey /k2',
      'ListenAddress 127.0.0.1',
      'ListenAddress [::1]:99',
      'AcceptEnv LANG LC_*',
      'AcceptEnv TZ',
      'AllowUsers alice',
      'AllowUsers bob@10.0.0.0/8',
      'SetEnv A=1 B="x y" A=2',
      'SetEnv C=3',
      'MaxStartups 5:50:20',
      'MaxStartups 3',
      'Subsystem sftp /usr/lib/sftp-server -l INFO',
      'Subsystem sftp /other',
      'ForceCommand  /bin/echo  a   b',
    ].join('\n'),
  );
  assert.equal(s.passwordAuthentication, false);
  assert.deepEqual(s.ports, [2222, 2223]);
  assert.deepEqual(s.hostKeys, ['/k1', '/k2']);
  assert.deepEqual(s.listenAddresses, [{ host: '127.0.0.1' }, { host: '::1', port: 99 }]);
  assert.deepEqual(s.acceptEnv, ['LANG', 'LC_*', 'TZ']);
  assert.deepEqual(s.allowUsers, ['alice', 'bob@10.0.0.0/8']);
  assert.deepEqual(s.setEnv, [{ name: 'A', value: '1' }, { name: 'B', value: 'x y' }]);
  // sshd's quirk: a lone number keeps the rate an earlier line set.
  assert.deepEqual(s.maxStartups, { begin: 3, rate: 50, full: 3 });
  assert.equal(s.subsystems.get('sftp'), '/usr/lib/sftp-server -l INFO');
  assert.equal(s.forceCommand, '/bin/echo  a   b');
});

test('values: times, permit lists, penalties, algorithm modifiers, none', () => {
  const s = settings(
    [
      'LoginGraceTime 1m30s',
      'ClientAliveInterval 2h',
      'PermitOpen localhost:22 [::1]:* *:80',
      'PermitListen 8080 localhost:9000',
      'PerSourcePenalties crash:2m authfail:1h max-sources4:10 overflow:deny-all',
      'PerSourcePenalties crash:5 noauth:7',
      'PerSourceMaxStartups 4',
      'PerSourceNetBlockSize 24:64',
      'Ciphers -chacha20*',
      'MACs +hmac-sha1-etm@openssh.com',
      'KexAlgorithms ^curve25519-sha256',
      'HostKeyAlgorithms ssh-ed25519*',
      'Banner none',
      'AuthorizedKeysFile none',
      'AuthenticationMethods publickey,password publickey,keyboard-interactive:pam',
      'PermitUserEnvironment LANG,TZ',
      'AllowStreamLocalForwarding all',
      'PermitRootLogin without-password',
    ].join('\n'),
  );
  assert.equal(s.loginGraceTime, 90);
  assert.equal(s.clientAliveInterval, 7200);
  assert.deepEqual(s.permitOpen, [
    { host: 'localhost', port: 22 },
    { host: '::1', port: '*' },
    { host: '*', port: 80 },
  ]);
  assert.deepEqual(s.permitListen, [
    { host: '*', port: 8080 },
    { host: 'localhost', port: 9000 },
  ]);
  const p = s.perSourcePenalties;
  assert.deepEqual([p.crash, p.authfail, p.noauth, p.maxSources4, p.overflow, p.overflow6], [120, 3600, 7, 10, 'deny-all', 'deny-all']);
  assert.equal(s.perSourceMaxStartups, 4);
  assert.deepEqual(s.perSourceNetBlockSize, { ipv4: 24, ipv6: 64 });
  assert.ok(!s.ciphers.some((c) => c.startsWith('chacha20')));
  assert.equal(s.kexAlgorithms[0], 'curve25519-sha256');
  assert.equal(s.kexAlgorithms.filter((k) => k === 'curve25519-sha256').length, 1);
  assert.deepEqual(s.hostKeyAlgorithms, ['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
  assert.equal(s.banner, null);
  assert.deepEqual(s.authorizedKeysFiles, []);
  assert.deepEqual(s.authenticationMethods, [
    ['publickey', 'password'],
    ['publickey', 'keyboard-interactive:pam'],
  ]);
  assert.deepEqual(s.permitUserEnvironment, ['LANG', 'TZ']);
  assert.equal(s.allowStreamLocalForwarding, 'yes');
  assert.equal(s.permitRootLogin, 'prohibit-password');
  assert.equal(settings('PerSourcePenalties no').perSourcePenalties.enabled, false);
  // Any field turns penalties back on, as in sshd.
  assert.equal(settings('PerSourcePenalties no\nPerSourcePenalties crash:1').perSourcePenalties.enabled, true);
});

const MATCHES = [
  'AcceptEnv GLOBAL',
  'Subsystem sftp /global/sftp',
  'Subsystem other /global/other',
  'Match User alice,bob Address 10.0.0.0/8,!10.1.0.0/16',
  '  PermitTTY no',
  '  AcceptEnv ALICE',
  '  Subsystem sftp /alice/sftp',
  '  ForceCommand /bin/alice',
  'Match Group wheel,!nogroup',
  '  AllowTcpForwarding no',
  'Match Host *.EXAMPLE.org',
  '  MaxAuthTries 2',
  'Match LocalAddress 127.0.0.2 LocalPort 2222',
  '  PermitOpen 1.2.3.4:5',
  '  ForceCommand none',
  'Match User=carol',
  '  AuthenticationMethods publickey',
  'Match invalid-user',
  '  MaxAuthTries 1',
  'Match all',
  '  ClientAliveInterval 9',
].join('\n');

test('Match blocks per connection: a table of specs', () => {
  const cases: { spec: SshdMatchSpec | undefined; check: (s: ReturnType<typeof settings>) => void; name: string }[] = [
    {
      name: 'no connection: only Match all applies',
      spec: undefined,
      check: (s) => {
        assert.equal(s.permitTTY, true);
        assert.equal(s.clientAliveInterval, 9);
        assert.deepEqual(s.acceptEnv, ['GLOBAL']);
        assert.equal(s.subsystems.size, 2);
      },
    },
    {
      name: 'alice from 10.2.3.4: her block, whose AcceptEnv and Subsystem replace the global ones (as sshd)',
      spec: { user: 'alice', addr: '10.2.3.4' },
      check: (s) => {
        assert.equal(s.permitTTY, false);
        assert.deepEqual(s.acceptEnv, ['ALICE']);
        assert.deepEqual([...s.subsystems], [['sftp', '/alice/sftp']]);
        assert.equal(s.forceCommand, '/bin/alice');
      },
    },
    { name: 'alice from a negated network', spec: { user: 'alice', addr: '10.1.3.4' }, check: (s) => assert.equal(s.permitTTY, true) },
    { name: 'alice without an address (sshd -T -C user=alice)', spec: { user: 'alice' }, check: (s) => assert.equal(s.permitTTY, true) },
    { name: 'mallory from 10.2.3.4', spec: { user: 'mallory', addr: '10.2.3.4' }, check: (s) => assert.equal(s.permitTTY, true) },
    { name: 'a group member', spec: { user: 'dave', groups: ['users', 'wheel'] }, check: (s) => assert.equal(s.allowTcpForwarding, 'no') },
    { name: 'a negated group wins', spec: { user: 'dave', groups: ['wheel', 'nogroup'] }, check: (s) => assert.equal(s.allowTcpForwarding, 'yes') },
    { name: 'groups but no user', spec: { groups: ['wheel'] }, check: (s) => assert.equal(s.allowTcpForwarding, 'yes') },
    { name: 'host names compare without case', spec: { host: 'box.example.ORG' }, check: (s) => assert.equal(s.maxAuthTries, 2) },
    {
      name: 'local address and port: ForceCommand none clears',
      spec: { user: 'alice', addr: '10.2.3.4', laddr: '127.0.0.2', lport: 2222 },
      check: (s) => {
        assert.equal(s.forceCommand, '/bin/alice', 'the first matching block that sets it wins');
        assert.deepEqual(s.permitOpen, [{ host: '1.2.3.4', port: 5 }]);
      },
    },
    { name: 'other port', spec: { laddr: '127.0.0.2', lport: 22 }, check: (s) => assert.equal(s.permitOpen, 'any') },
    { name: 'user=carol form', spec: { user: 'carol' }, check: (s) => assert.deepEqual(s.authenticationMethods, [['publickey']]) },
    { name: 'invalid-user', spec: { user: 'zz', invalidUser: true }, check: (s) => assert.equal(s.maxAuthTries, 1) },
  ];
  const parsed = parseSshdConfig(MATCHES, F, memoryIO({}));
  assert.equal(parsed.hasMatch, true);
  for (const c of cases) {
    try {
      c.check(resolveSshdConfig(parsed, c.spec));
    } catch (e) {
      throw new Error(`case "${c.name}": ${(e as Error).message}`);
    }
  }
});

test('Match all: its lines also count as global ones, and override earlier global values', () => {
  const s = settings('PasswordAuthentication no\nMatch all\nPasswordAuthentication yes\nPort 2200');
  assert.equal(s.passwordAuthentication, true);
  assert.deepEqual(s.ports, [2200]);
});

test('Include: globs relative to the ssh directory, in order, Match blocks end with their file', () => {
  const files = {
    '/etc/ssh/sshd_config.d/10-a.conf': 'PasswordAuthentication no\nMatch User alice\n  PermitTTY no',
    '/etc/ssh/sshd_config.d/20-b.conf': 'PasswordAuthentication yes\nMaxSessions 3',
    '/etc/ssh/sshd_config.d/README': 'Bogus line',
    '/etc/ssh/inner.conf': 'Banner /inner',
  };
  const text = 'Include sshd_config.d/*.conf\nMaxSessions 4\nMatch User bob\n  Include /etc/ssh/inner.conf\n  PermitTTY no';
  const io = memoryIO({ [F]: text, ...files });
  const parsed = parseSshdConfig(text, F, io);
  assert.deepEqual(io.globs, ['/etc/ssh/sshd_config.d/*.conf', '/etc/ssh/inner.conf']);
  assert.deepEqual(parsed.files, [F, '/etc/ssh/sshd_config.d/10-a.conf', '/etc/ssh/sshd_config.d/20-b.conf', '/etc/ssh/inner.conf']);
  const g = resolveSshdConfig(parsed);
  assert.equal(g.passwordAuthentication, false);
  assert.equal(g.maxSessions, 3);
  assert.equal(g.permitTTY, true);
  assert.equal(g.banner, null);
  // The included file's Match block did not swallow "MaxSessions 4" in the main file.
  const bob = resolveSshdConfig(parsed, { user: 'bob' });
  assert.equal(bob.banner, '/inner');
  assert.equal(bob.permitTTY, false);
  assert.equal(resolveSshdConfig(parsed, { user: 'alice' }).permitTTY, false);
  // A custom ssh directory for relative includes; a missing glob is no error.
  const custom = memoryIO({ '/x/y.conf': 'MaxSessions 9' });
  assert.equal(resolveSshdConfig(parseSshdConfig('Include y.conf\nInclude nothere/*', F, custom, { sshDirectory: '/x' })).maxSessions, 9);
  // Recursion stops with an error naming the file.
  const loop = { '/etc/ssh/loop.conf': 'Include /etc/ssh/loop.conf' };
  const e = parseError('Include loop.conf', loop);
  assert.match(e.message, /Too many recursive configuration includes/);
  assert.equal(e.file, '/etc/ssh/loop.conf');
  // Inside an included file, errors name that file and its line.
  const bad = parseError('Include bad.conf', { '/etc/ssh/bad.conf': '# comment\n\nPort x' });
  assert.deepEqual([bad.file, bad.line], ['/etc/ssh/bad.conf', 3]);
});

test('errors name file and line, with sshd wording', () => {
  const cases: [string, RegExp, number][] = [
    ['Bogus yes', /Bad configuration option: Bogus/, 1],
    ['\n\nPort 0', /Badly formatted port number/, 3],
    ['Port 70000', /Badly formatted port number/, 1],
    ['PasswordAuthentication maybe', /unsupported option "maybe"/, 1],
    ['Match User alice\n  Port 22', /Directive 'Port' is not allowed within a Match block/, 2],
    ['Match User alice\n  HostKey /k', /not allowed within a Match block/, 2],
    ['Match Foo bar', /Bad Match condition: Unsupported Match attribute Foo/, 1],
    ['Match User', /Missing Match criteria for User/, 1],
    ['Match', /no argument after keyword/, 1],
    ['Match all User x', /'all' cannot be combined/, 1],
    ['Match Address 10.0.0.1/8', /Invalid Match address argument/, 1],
    ['Match Address 1.2.3.4,', /Invalid Match address argument/, 1],
    ['Match LocalPort x', /Invalid LocalPort 'x'/, 1],
    ['PermitOpen host', /PermitOpen bad port number/, 1],
    ['PermitOpen 1.2.3.4:5 any', /any must appear alone/, 1],
    ['MaxStartups 20:10:10', /Invalid MaxStartups spec/, 1],
    ['MaxStartups 10:0:100', /Invalid MaxStartups spec/, 1],
    ['Ciphers aes128-ctr,nope', /Bad SSH2 cipher spec 'aes128-ctr,nope'/, 1],
    ['KexAlgorithms +nope', /Bad SSH2 KexAlgorithms/, 1],
    ['HostKeyAlgorithms foo*', /Bad key types/, 1],
    ['MACs -*', /no algorithm left/, 1],
    ['AuthenticationMethods any publickey', /"any" must appear alone/, 1],
    ['AuthenticationMethods publickey,foo', /invalid AuthenticationMethods method list/, 1],
    ['AcceptEnv A=B', /Invalid environment name/, 1],
    ['SetEnv NOEQ', /Invalid environment/, 1],
    ['LoginGraceTime 5x', /invalid time value/, 1],
    ['PerSourcePenalties crash:x', /invalid PerSourcePenalties time value/, 1],
    ['PerSourcePenalties no crash:1', /"no" argument must appear alone/, 1],
    ['PerSourcePenalties bogus:1', /unsupported PerSourcePenalties keyword bogus:1/, 1],
    ['Port 22 23', /keyword Port extra arguments at end of line/, 1],
    ['PermitRootLogin "yes', /invalid quotes/, 1],
    ['ListenAddress 1.2.3.4:0', /bad port number/, 1],
    ['MaxAuthTries -1', /MaxAuthTries integer value too small/, 1],
    ['LogLevel LOUD', /unsupported log level 'LOUD'/, 1],
    ['Subsystem sftp', /Missing subsystem command/, 1],
    ['ChrootDirectory', /no argument after keyword "chrootdirectory"/, 1],
    ['RDomain %D', /RDomain is not supported by nacred/, 1],
    ['AuthorizedKeysCommand /bin/keys', /not supported by nacred/, 1],
    ['Match User x\n  AuthorizedPrincipalsCommand /bin/p', /not supported by nacred/, 2],
  ];
  for (const [text, re, line] of cases) {
    const e = parseError(text);
    assert.match(e.message, re, text);
    assert.equal(e.file, F, text);
    assert.equal(e.line, line, text);
    assert.ok(e.message.startsWith(`${F} line ${line}: `), e.message);
  }
  // Fine: comments, blank lines, `=`, quotes, a comment after the value, none for refused options.
  settings('# comment\n\n  Port = 2222 # trailing\n"PermitRootLogin" no\nRDomain none\nAuthorizedKeysFile "/a b/%u"');
});

test('ChrootDirectory: none by default, the first value kept, tokens left for the session, Match blocks apply it', () => {
  assert.equal(settings('').chrootDirectory, null);
  assert.equal(settings('ChrootDirectory /srv/%u\nChrootDirectory /other').chrootDirectory, '/srv/%u');
  assert.equal(settings('ChrootDirectory none').chrootDirectory, null);
});

test('start-up checks on the global settings: AuthenticationMethods satisfiable, ListenAddress of the AddressFamily', () => {
  assert.throws(() => settings('PasswordAuthentication no\nAuthenticationMethods password'), /AuthenticationMethods cannot be satisfied/);
  assert.throws(() => settings('AuthenticationMethods hostbased'), /cannot be satisfied/);
  assert.deepEqual(settings('PasswordAuthentication no\nAuthenticationMethods password publickey').authenticationMethods, [['password'], ['publickey']]);
  assert.throws(() => settings('AddressFamily inet\nListenAddress ::1'), /bad addr or host: ::1/);
  assert.throws(() => settings('ListenAddress 127.0.0.1\nAddressFamily inet6'), /bad addr or host: 127.0.0.1/);
  assert.equal(settings('LogLevel debug1').logLevel, 'DEBUG');
  // Per connection the check is the server's business (sshd logs and refuses that user)...
  assert.deepEqual(settings('Match User a\n  AuthenticationMethods hostbased', { user: 'a' }).authenticationMethods, [['hostbased']]);
  // ... but the global settings are checked whatever the connection, Match all included.
  assert.throws(() => settings('Match all\n  AuthenticationMethods publickey\n  PubkeyAuthentication no', { user: 'a' }), /cannot be satisfied/);
});

test('unsupported and deprecated sshd keywords warn with file and line; -o lines come first', () => {
  const parsed = parseSshdConfig('UsePAM yes\nX11Forwarding yes\nUsePrivilegeSeparation sandbox\nCiphers +3des-cbc\nPasswordAuthentication yes', F, memoryIO({}), {
    commandLine: { options: ['PasswordAuthentication no'], ports: [2022], hostKeys: ['/cmd/key'] },
  });
  assert.deepEqual(parsed.warnings, [
    `${F} line 1: Unsupported option UsePAM (nacred does not implement it and ignores the line)`,
    `${F} line 2: Unsupported option X11Forwarding (nacred does not implement it and ignores the line)`,
    `${F} line 3: Deprecated option UsePrivilegeSeparation`,
    `${F} line 4: Ciphers: Nacre does not implement 3des-cbc; left out`,
  ]);
  const s = resolveSshdConfig(parsed);
  assert.equal(s.passwordAuthentication, false);
  assert.deepEqual(s.ports, [2022]);
  assert.deepEqual(s.hostKeys, ['/cmd/key']);
  // Values under which sshd behaves as nacred does need no warning; bad values of these keywords are errors, as in sshd.
  assert.deepEqual(parseSshdConfig('UsePAM no\nX11Forwarding no\nX11DisplayOffset 10\nUseDNS no\nPermitTunnel no', F, memoryIO({})).warnings, []);
  for (const [text, re] of [
    ['X11Forwarding maybe', /unsupported option "maybe"/],
    ['UsePAM yes no', /keyword UsePAM extra arguments/],
    ['X11DisplayOffset -1', /X11DisplayOffset integer value too small/],
    ['UnusedConnectionTimeout 5q', /invalid time value/],
    ['PermitTunnel YES', /bad PermitTunnel argument YES/],
  ] as const) {
    assert.match(parseError(text).message, re, text);
  }
  // -p makes the file's Port lines ignored, as in sshd.
  assert.deepEqual(resolveSshdConfig(parseSshdConfig('Port 1\nPort 2', F, memoryIO({}), { commandLine: { ports: [3] } })).ports, [3]);
  assert.throws(() => parseSshdConfig('', F, memoryIO({}), { commandLine: { options: ['Match all'] } }), SshdConfigError);
  assert.throws(() => parseSshdConfig('', F, memoryIO({}), { commandLine: { options: ['Include x'] } }), SshdConfigError);
  assert.throws(() => parseSshdConfig('', F, memoryIO({}), { commandLine: { options: ['Bogus 1'] } }), /command-line line 1: Bad configuration option/);
});

test('HostKey none and HostCertificate none name no file', () => {
  assert.deepEqual(settings('HostKey none').hostKeys, []);
  assert.deepEqual(settings('HostKey none\nHostKey /k').hostKeys, ['/k']);
  assert.deepEqual(settings('HostCertificate NONE', undefined, {}, { cwd: '/srv' }).hostCertificates, []);
});

test('relative paths are made absolute against cwd when given', () => {
  const s = settings('HostKey keys/host\nPidFile run.pid\nBanner /abs', undefined, {}, { cwd: '/srv/nacred' });
  assert.deepEqual(s.hostKeys, ['/srv/nacred/keys/host']);
  assert.equal(s.pidFile, '/srv/nacred/run.pid');
  assert.equal(s.banner, '/abs');
});

test('expandAuthorizedPath: %u %h %% and home-relative paths', () => {
  const u = { user: 'alice', home: '/home/alice', uid: 1000 };
  assert.equal(expandAuthorizedPath('.ssh/authorized_keys', u), '/home/alice/.ssh/authorized_keys');
  assert.equal(expandAuthorizedPath('/etc/keys/%u', u), '/etc/keys/alice');
  assert.equal(expandAuthorizedPath('%h/.ssh/k', u), '/home/alice/.ssh/k');
  assert.equal(expandAuthorizedPath('/k/100%%/%U', u), '/k/100%/1000');
  assert.equal(expandAuthorizedPath('keys', { user: 'root', home: '/' }), '/keys');
  assert.throws(() => expandAuthorizedPath('/k/%x', u), SshdConfigError);
  assert.throws(() => expandAuthorizedPath('/k/%', u), SshdConfigError);
});

test('parseMatchSpec: sshd -C fields', () => {
  assert.deepEqual(parseMatchSpec('user=alice,addr=1.2.3.4,host=h.example,laddr=127.0.0.1,lport=2222'), {
    user: 'alice',
    addr: '1.2.3.4',
    host: 'h.example',
    laddr: '127.0.0.1',
    lport: 2222,
  });
  assert.deepEqual(parseMatchSpec('user=bob,invalid-user,rdomain=x'), { user: 'bob', invalidUser: true, rdomain: 'x' });
  assert.deepEqual(parseMatchSpec(''), {});
  assert.throws(() => parseMatchSpec('lport=x'), /Invalid port 'x'/);
  assert.throws(() => parseMatchSpec('bogus=1'), /Invalid test mode specification bogus=1/);
  assert.throws(() => parseMatchSpec('user'), /Invalid test mode specification/);
});

test('address lists: CIDR, negation, wildcards, malformed', () => {
  assert.equal(addressListMatch('10.1.2.3', '10.0.0.0/8'), 1);
  assert.equal(addressListMatch('10.1.2.3', '10.0.0.0/8,!10.1.0.0/16'), -1);
  assert.equal(addressListMatch('192.168.1.7', '192.168.1.*'), 1);
  assert.equal(addressListMatch('2001:db8::1', '2001:db8::/32'), 1);
  assert.equal(addressListMatch('2001:db9::1', '2001:db8::/32'), 0);
  assert.equal(addressListMatch(null, '10.0.0.1/8'), -2);
  assert.equal(addressListMatch(null, 'a,,b'), -2);
  assert.equal(addressListMatch('not-an-address', '*'), 0);
  // IPv4 peers on a dual-stack socket
  assert.equal(addressListMatch('::ffff:10.1.2.3', '10.0.0.0/8'), 1);
  assert.equal(addressListMatch('::FFFF:192.168.1.7', '192.168.1.*'), 1);
});

test('formatSshdConfig prints sshd -T lines and PasswordFile last', () => {
  const text = formatSshdConfig(settings('Port 2222\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\nPasswordFile /etc/nacre/pw\nPermitListen 99\nSubsystem sftp /s -x'));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'port 2222');
  assert.ok(lines.includes('listenaddress 127.0.0.1:2222'));
  assert.ok(lines.includes('permitrootlogin without-password'));
  assert.ok(lines.includes('permitlisten *:99'));
  assert.ok(lines.includes('subsystem sftp /s -x'));
  assert.ok(lines.includes('authenticationmethods any'));
  assert.ok(lines.includes('persourcemaxstartups none'));
  assert.equal(lines.at(-1), 'passwordfile /etc/nacre/pw');
  const wild = formatSshdConfig(settings('AddressFamily inet6')).split('\n');
  assert.ok(wild.includes('listenaddress [::]:22') && !wild.includes('listenaddress 0.0.0.0:22'));
});

test('checkSshdConfig returns settings and warnings, throws on errors', () => {
  const io = memoryIO({});
  const r = checkSshdConfig('UsePAM yes\nPort 2222', F, io);
  assert.deepEqual(r.settings.ports, [2222]);
  assert.equal(r.warnings.length, 1);
  assert.throws(() => checkSshdConfig('Port x', F, io), SshdConfigError);
});

test('AllowUsers / DenyUsers / AllowGroups / DenyGroups as sshd applies them', () => {
  const s = settings(
    ['AllowUsers alice bob@10.0.0.0/8,!10.1.0.0/16 carol@*.example.org dave@192.168.1.*', 'DenyUsers mallory *@203.0.113.0/24', 'AllowGroups staff wheel', 'DenyGroups banned'].join('\n'),
  );
  const who = (user: string, addr: string, groups: string[] = ['staff'], host?: string) => sshdUserAccess(s, { user, addr, groups, ...(host ? { host } : {}) });
  const cases: [ReturnType<typeof who>, boolean, RegExp?][] = [
    [who('alice', '1.2.3.4'), true],
    [who('bob', '10.2.0.1'), true],
    [who('bob', '10.1.0.1'), false, /not listed in AllowUsers/],
    [who('bob', '1.2.3.4'), false, /not listed in AllowUsers/],
    [who('carol', '1.2.3.4', ['staff'], 'PC.example.org'), true],
    [who('carol', '1.2.3.4'), false, /not listed in AllowUsers/],
    [who('dave', '192.168.1.9'), true],
    [who('mallory', '1.2.3.4'), false, /User mallory from 1.2.3.4 not allowed because listed in DenyUsers/],
    [who('alice', '203.0.113.5'), false, /listed in DenyUsers/],
    [who('eve', '1.2.3.4'), false, /not listed in AllowUsers/],
    [who('alice', '1.2.3.4', ['users']), false, /none of user's groups are listed in AllowGroups/],
    [who('alice', '1.2.3.4', ['staff', 'banned']), false, /a group is listed in DenyGroups/],
    [who('alice', '1.2.3.4', []), false, /not in any group/],
  ];
  cases.forEach(([verdict, allowed, reason], i) => {
    assert.equal(verdict.allowed, allowed, `case ${i}`);
    if (!verdict.allowed && reason) assert.match(verdict.reason, reason, `case ${i}`);
  });
  assert.deepEqual(sshdUserAccess(settings(''), { user: 'x', addr: '1.2.3.4', groups: [] }), { allowed: true });
  assert.match(parseError('AllowUsers alice@10.0.0.1/8').message, /invalid AllowUsers pattern/);
  assert.match(parseError('DenyUsers alice@').message, /invalid DenyUsers pattern/);
});
