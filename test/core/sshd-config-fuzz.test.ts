// sshd_config text from an untrusted or careless hand: random, truncated,
// bit-flipped and spliced variants of real-looking files (and of -C specs)
// must give settings or an SshdConfigError, nothing else, and quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshdConfig, resolveSshdConfig, formatSshdConfig, parseMatchSpec, SshdConfigError, type SshdConfigIO } from '../../src/config/index.js';
import { fuzz } from './fuzz-helpers.js';

const SAMPLES = [
  [
    'Port 2222',
    'ListenAddress 127.0.0.1',
    'ListenAddress [::1]:2200',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'AuthorizedKeysFile .ssh/authorized_keys /etc/keys/%u',
    'MaxStartups 10:30:100',
    'PerSourcePenalties crash:90 authfail:5 max-sources4:100 overflow:deny-all',
    'PerSourceMaxStartups 3',
    'PermitOpen localhost:22 [::1]:*',
    'Subsystem sftp "/usr/lib/sftp server" -l INFO',
    'SetEnv A=1 B="two words"',
    'AcceptEnv LANG LC_*',
    'Ciphers +aes128-cbc',
    'KexAlgorithms -diffie*',
    'RequiredRSASize 3072',
    'CASignatureAlgorithms ssh-ed25519,rsa-sha2-512',
    'PubkeyAuthOptions touch-required verify-required',
    'Compression no',
    'AuthenticationMethods publickey,password publickey,keyboard-interactive',
    'Include conf.d/*.conf',
    'Match User alice,!bob Address 10.0.0.0/8,!10.1.0.0/16',
    '  ForceCommand /bin/date',
    '  PermitTTY no',
    'Match Group wheel Host *.example.org LocalAddress 127.0.0.2 LocalPort 2222',
    '  AllowTcpForwarding local',
    'Match all',
    '  ClientAliveInterval 1m',
  ].join('\n'),
  'UsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\nInclude /etc/ssh/sshd_config.d/*.conf\n',
  'PasswordAuthentication=no\n"LogLevel" DEBUG3 # comment\nPermitListen 8080 host:9000\nBanner none\nPidFile /run/x.pid\nPasswordFile /etc/nacre/passwd\n',
].map((s) => new TextEncoder().encode(s));

const io: SshdConfigIO = {
  readFile: (p) => (p === '/etc/ssh/conf.d/a.conf' ? 'MaxSessions 3\nMatch User x\n  Banner /b\n' : null),
  glob: (p) => (p.startsWith('/etc/ssh/conf.d/') ? ['/etc/ssh/conf.d/a.conf'] : []),
};

const SPECS = [{}, { user: 'alice', addr: '10.2.3.4' }, { user: 'alice', groups: ['wheel'], host: 'a.example.org', laddr: '127.0.0.2', lport: 2222 }];

test('fuzzed sshd_config text: only SshdConfigError, bounded time', () => {
  const start = Date.now();
  let ok = 0;
  const n = fuzz('sshd-config', SAMPLES, 3000, (input) => {
    const text = new TextDecoder().decode(input);
    const parsed = parseSshdConfig(text, '/etc/ssh/sshd_config', io);
    for (const spec of SPECS) formatSshdConfig(resolveSshdConfig(parsed, spec));
    ok++;
  }, (e) => e instanceof SshdConfigError);
  assert.ok(n > 3000);
  assert.ok(ok > 100, `too few inputs parsed (${ok}): the samples should survive many mutations`);
  assert.ok(Date.now() - start < 20000, 'fuzzing took too long');
});

test('fuzzed -C specs: only SshdConfigError', () => {
  const samples = ['user=alice,addr=1.2.3.4,host=h,laddr=127.0.0.1,lport=22', 'invalid-user,rdomain=x'].map((s) => new TextEncoder().encode(s));
  fuzz('sshd-spec', samples, 2000, (input) => parseMatchSpec(new TextDecoder().decode(input)), (e) => e instanceof SshdConfigError);
});

test('huge and hostile inputs are refused or read in bounded time', () => {
  const start = Date.now();
  assert.throws(() => parseSshdConfig('Port ' + '9'.repeat(100000), 'f', io), SshdConfigError);
  assert.throws(() => parseSshdConfig('Port 22\0', 'f', io), SshdConfigError);
  // Many lines of Match and settings stay linear.
  const many = Array.from({ length: 5000 }, (_, i) => `Match User u${i}\n  PermitTTY no`).join('\n');
  const parsed = parseSshdConfig(many, 'f', io);
  assert.equal(resolveSshdConfig(parsed, { user: 'u4999' }).permitTTY, false);
  // A time that overflows sshd's int is an error, not a huge number.
  assert.throws(() => parseSshdConfig('LoginGraceTime 99999999999w', 'f', io), /invalid time value/);
  assert.ok(Date.now() - start < 5000);
});
