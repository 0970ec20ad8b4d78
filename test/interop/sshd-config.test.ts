// The sshd_config parser, resolver and -T printer against OpenSSH's own
// `sshd -T -f file [-C spec]`: for each file and connection spec, every
// line Nacre prints (but its own PasswordFile) must equal sshd's line for
// that keyword. Differences that are deliberate are filtered here, each
// with its reason:
//  - algorithm lists: sshd's list is compared after dropping the names Nacre
//    does not implement (the sk-* host key and certificate types, 3des-cbc,
//    hmac-md5...): nacred leaves those out rather than offer what it cannot
//    do. Order and the +/-/^ modifiers must agree.
//  - pidfile: nacred's default is /run/nacred.pid, so it never clobbers
//    sshd's /run/sshd.pid; a PidFile that is set must agree.
//  - persourcenetblocksize with one number: sshd 10.0 leaves the IPv6 size
//    to an uninitialised variable (it printed 24:0 here); Nacre keeps 128.
// And sshd -t and Nacre both refuse broken files, naming file and line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { resolveSshdConfig, formatSshdConfig, parseMatchSpec, SshdConfigError } from '../../src/config/index.js';
import { readSshdConfig } from '../../src/io/node/sshd-config-files.js';
import { nacreAlgorithmLine } from './sshd-config-oracle.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed';
let dir = '';
let hostKey = '';
const me = userInfo().username;
const myGroups = (spawnSync('id', ['-Gn'], { encoding: 'utf8' }).stdout ?? '').trim().split(/\s+/).filter(Boolean);

before(() => {
  dir = tempDir('sshd-config');
  if (!openssh) return;
  hostKey = keygen(openssh, dir, 'ed25519', 'host_ed25519').privatePath;
  // sshd -T checks that its privilege separation directory exists.
  if (!existsSync('/run/sshd') && process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
});
after(() => rmSync(dir, { recursive: true, force: true }));


interface Case {
  readonly name: string;
  readonly config: string;
  /** `-C` specs; '' for none. A spec naming this user gets this user's groups. */
  readonly specs: readonly string[];
  readonly files?: Readonly<Record<string, string>>;
  /** sshd's -o, -p, -h flags, given to Nacre as SshdCommandLine. */
  readonly flags?: { readonly options?: readonly string[]; readonly ports?: readonly number[]; readonly hostKeys?: readonly string[] };
  /** Read this file instead of writing `config` (with our host key given as -h). */
  readonly systemFile?: string;
}

function sshdLines(file: string, spec: string, flags: string[]): string[] {
  const r = spawnSync(openssh!.sshd, ['-T', '-f', file, ...flags, ...(spec ? ['-C', spec] : [])], { encoding: 'utf8' });
  assert.equal(r.status, 0, `sshd -T -f ${file} -C '${spec}' failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function compare(c: Case): void {
  let file = c.systemFile ?? join(dir, `${c.name.replace(/\W+/g, '-')}.conf`);
  let config = c.config;
  let flags = c.flags ?? {};
  if (c.systemFile === undefined) {
    config = `HostKey ${hostKey}\n` + c.config.replaceAll('@DIR@', dir);
    writeFileSync(file, config);
  } else {
    flags = { ...flags, hostKeys: [hostKey] };
  }
  for (const [name, text] of Object.entries(c.files ?? {})) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text.replaceAll('@DIR@', dir));
  }
  const sshdFlags = [...(flags.hostKeys ?? []).flatMap((k) => ['-h', k]), ...(flags.ports ?? []).flatMap((p) => ['-p', String(p)]), ...(flags.options ?? []).flatMap((o) => ['-o', o])];
  const parsed = readSshdConfig(file, { commandLine: flags });
  const pidFileSet = /^\s*pidfile\b/im.test(config);
  for (const spec of c.specs) {
    const s = spec.replaceAll('@ME@', me);
    const matchSpec = s === '' ? undefined : { ...parseMatchSpec(s), ...(s.includes(`user=${me}`) ? { groups: myGroups } : {}) };
    const ours = formatSshdConfig(resolveSshdConfig(parsed, matchSpec))
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('passwordfile '));
    const keywords = new Set(ours.map((l) => l.split(' ')[0]));
    const theirs = sshdLines(file, s, sshdFlags)
      .filter((l) => keywords.has(l.split(' ')[0]))
      .map((l) => {
        const [k, ...rest] = l.split(' ');
        const algorithms = nacreAlgorithmLine(k!, rest);
        if (algorithms !== null) return algorithms;
        if (k === 'pidfile' && !pidFileSet) return 'pidfile /run/nacred.pid';
        if (k === 'persourcenetblocksize' && /^\s*persourcenetblocksize\s+\d+\s*$/im.test(config)) return `${k} ${rest[0]!.split(':')[0]}:128`;
        return l;
      });
    assert.deepEqual(ours, theirs, `${c.name}, -C '${s}'`);
  }
}

const CASES: Case[] = [
  { name: 'defaults', config: '', specs: [''] },
  {
    name: 'ChrootDirectory, global and per Match block',
    config: ['ChrootDirectory /srv/%u', 'ChrootDirectory /ignored', 'Match User sftponly', '  ChrootDirectory /jail/%U', 'Match User free', '  ChrootDirectory none'].join('\n'),
    specs: ['', 'user=sftponly,host=h,addr=10.1.2.3', 'user=free,host=h,addr=10.1.2.3', 'user=other,host=h,addr=10.1.2.3'],
  },
  {
    name: 'listening and accumulating keywords',
    config: [
      'Port 2222',
      'Port 2223',
      'ListenAddress 127.0.0.1',
      'ListenAddress [::1]:2300',
      'AddressFamily any',
      'AcceptEnv LANG LC_*',
      'AcceptEnv TZ',
      'AllowUsers alice bob@10.0.0.0/8 carol@*.example.org',
      'DenyUsers mallory',
      'AllowGroups staff',
      'DenyGroups nobody',
      'SetEnv A=1 B="two words" A=3',
      'SetEnv C=4',
      'HostCertificate /etc/ssh/host-cert.pub',
    ].join('\n'),
    specs: [''],
  },
  {
    name: 'authentication',
    config: [
      'PermitRootLogin forced-commands-only',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication yes',
      'AuthenticationMethods publickey,password publickey,keyboard-interactive:pam',
      'AuthorizedKeysFile /etc/keys/%u .ssh/ak',
      'AuthorizedPrincipalsFile /etc/principals/%u',
      'TrustedUserCAKeys /etc/ssh/ca.pub',
      'RevokedKeys /etc/ssh/krl',
      'StrictModes no',
      'MaxAuthTries 3',
      'LoginGraceTime 2m30s',
    ].join('\n'),
    specs: [''],
  },
  {
    name: 'algorithm lists with + - ^ and wildcards',
    config: ['Ciphers +aes128-cbc', 'MACs -hmac-sha1*', 'KexAlgorithms ^curve25519-sha256,mlkem768x25519-sha256', 'HostKeyAlgorithms ssh-ed25519*,rsa-sha2-*', 'PubkeyAcceptedAlgorithms -*cert*'].join('\n'),
    specs: [''],
  },
  {
    name: 'explicit algorithm lists',
    config: ['Ciphers aes256-ctr,chacha20-poly1305@openssh.com', 'MACs hmac-sha2-512,umac-128@openssh.com', 'KexAlgorithms curve25519-sha256', 'HostKeyAlgorithms +ssh-rsa'].join('\n'),
    specs: [''],
  },
  {
    name: 'admission',
    config: [
      'MaxStartups 5:50:20',
      'MaxStartups 3',
      'PerSourceMaxStartups 4',
      'PerSourceNetBlockSize 24',
      'PerSourcePenalties crash:2m authfail:1h30m max-sources4:10 overflow:deny-all',
      'PerSourcePenalties crash:5 noauth:7 grace-exceeded:3 refuseconnection:4 min:1 max:2 max-sources6:9 overflow6:permissive',
      'PerSourcePenaltyExemptList 10.0.0.0/8,192.168.1.1',
      'ClientAliveInterval 1m',
      'ClientAliveCountMax 5',
      'MaxSessions 2',
    ].join('\n'),
    specs: [''],
  },
  {
    name: 'key policy: RequiredRSASize, CASignatureAlgorithms, PubkeyAuthOptions, Compression, and in Match blocks',
    config: [
      'RequiredRSASize 3072',
      'CASignatureAlgorithms ssh-*,rsa-sha2-512',
      'PubkeyAuthOptions verify-required TOUCH-required',
      'Compression delayed',
      'Match User alice',
      '  RequiredRSASize 4096',
      '  CASignatureAlgorithms -rsa*,ecdsa-sha2-nistp384',
      '  PubkeyAuthOptions none',
      'Match User bob',
      '  PubkeyAuthOptions none verify-required',
      '  CASignatureAlgorithms ^ssh-rsa',
    ].join('\n'),
    specs: ['', 'user=alice', 'user=bob', 'user=carol'],
  },
  { name: 'Compression no, CASignatureAlgorithms +ssh-rsa, RequiredRSASize 0', config: 'Compression no\nCASignatureAlgorithms +ssh-rsa\nRequiredRSASize 0\nPubkeyAuthOptions none', specs: [''] },
  { name: 'penalties off', config: 'PerSourcePenalties no\nMaxStartups 50:10:60\nPerSourceNetBlockSize 16:48', specs: [''] },
  {
    name: 'sessions and forwarding',
    config: [
      'PermitOpen localhost:22 [::1]:* *:80',
      'PermitListen 8080 localhost:9000',
      'Subsystem sftp /usr/lib/openssh/sftp-server -l INFO',
      'Subsystem sftp /bin/false',
      'Subsystem "odd name" "/bin/with space" \'q"uote\'',
      'ForceCommand /bin/echo hello   world',
      'Banner /etc/issue.net',
      'PrintMotd no',
      'PermitTTY no',
      'PermitUserRC no',
      'PermitUserEnvironment LANG,TZ',
      'GatewayPorts clientspecified',
      'AllowTcpForwarding local',
      'AllowStreamLocalForwarding all',
      'AllowAgentForwarding no',
      'DisableForwarding yes',
      'PidFile /tmp/nacre-test.pid',
      'LogLevel DEBUG1',
      'SyslogFacility LOCAL3',
      'RefuseConnection no',
    ].join('\n'),
    specs: [''],
  },
  {
    name: 'Match by user, address, group, host, local address and port',
    config: [
      'AcceptEnv GLOBAL',
      'Subsystem sftp /global/sftp',
      'Subsystem other /global/other',
      'PasswordAuthentication no',
      'Match User alice,bob Address 10.0.0.0/8,!10.1.0.0/16',
      '  PermitTTY no',
      '  AcceptEnv ALICE',
      '  Subsystem sftp /alice/sftp',
      '  ForceCommand /bin/alice',
      '  PasswordAuthentication yes',
      `Match Group ${myGroups[0] ?? 'root'}`,
      '  AllowTcpForwarding no',
      '  Banner /group-banner',
      'Match Host *.example.org',
      '  MaxAuthTries 2',
      '  AuthenticationMethods publickey',
      'Match LocalAddress 127.0.0.2 LocalPort 2222',
      '  PermitOpen 1.2.3.4:5',
      '  ForceCommand none',
      '  PermitListen none',
      'Match User=carol',
      '  AuthorizedKeysFile /carol/keys',
      '  DenyUsers x',
      'Match all',
      '  ClientAliveInterval 9',
    ].join('\n'),
    specs: [
      'lport=22',
      'user=alice,addr=10.2.3.4,lport=22',
      'user=alice,addr=10.1.3.4,lport=22',
      'user=@ME@,host=x.example.org,addr=1.1.1.1,lport=22',
      'user=nobody-here,laddr=127.0.0.2,lport=2222',
      'user=bob,addr=10.0.0.1,laddr=127.0.0.2,lport=2222',
      'user=carol,lport=1',
    ],
  },
  {
    name: 'Include with globs and Match blocks in included files',
    config: ['Include @DIR@/inc/*.conf', 'MaxSessions 4', 'Match User bob', '  Include @DIR@/inner.conf', '  PermitTTY no'].join('\n'),
    files: {
      'inc/10-a.conf': 'PasswordAuthentication no\nMatch User alice\n  PermitTTY no\n',
      'inc/20-b.conf': 'PasswordAuthentication yes\nMaxSessions 3\n',
      'inner.conf': 'Banner /inner\n',
    },
    specs: ['', 'user=alice', 'user=bob'],
  },
  {
    name: 'Match all overrides earlier global values',
    config: 'PasswordAuthentication no\nMatch all\n  PasswordAuthentication yes\n  Banner /all\n',
    specs: ['', 'user=x'],
  },
  {
    name: 'command-line flags: -p, -o and -h come before the file',
    config: 'Port 2200\nPasswordAuthentication yes\nMaxSessions 4\nHostKey /etc/ssh/other_key',
    flags: { ports: [2022, 2023], options: ['PasswordAuthentication no', 'Port 99', 'AcceptEnv FROM_FLAG'], hostKeys: ['/flag/host_key'] },
    specs: [''],
  },
];
// The machine's own sshd_config (Debian's: Include of sshd_config.d, UsePAM, X11Forwarding ...), when there is one.
if (existsSync('/etc/ssh/sshd_config')) CASES.push({ name: 'the system sshd_config', systemFile: '/etc/ssh/sshd_config', config: '', specs: ['', 'user=root,addr=127.0.0.1,lport=22'] });

for (const c of CASES) test(`sshd -T agrees: ${c.name}`, { skip }, () => compare(c));

test('broken files: sshd -t and Nacre both refuse, naming the same file and line', { skip }, () => {
  const broken: [string, number][] = [
    ['Bogus yes', 2],
    ['Port 0', 2],
    ['Match User alice\n  Port 22', 3],
    ['Match Foo bar', 2],
    ['Ciphers aes128-ctr,nope', 2],
    ['PermitOpen host', 2],
    ['MaxStartups 20:10:10', 2],
    ['AuthenticationMethods publickey,foo', 2],
    ['\n\nPerSourcePenalties crash:x', 4],
    ['PermitRootLogin "yes', 2],
    ['X11Forwarding maybe', 2],
    ['UsePAM yes no', 2],
    ['RequiredRSASize -1', 2],
    ['RequiredRSASize 2k', 2],
    ['PubkeyAuthOptions bogus', 2],
    ['PubkeyAuthOptions', 2],
    ['Compression maybe', 2],
    ['Match User a\n  Compression no', 3],
    ['CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com', 2],
    ['CASignatureAlgorithms nope', 2],
  ];
  // No line to name: sshd refuses at start-up, and so does resolving the global settings.
  const file = join(dir, 'unsatisfiable.conf');
  writeFileSync(file, `HostKey ${hostKey}\nPasswordAuthentication no\nAuthenticationMethods password\n`);
  assert.notEqual(spawnSync(openssh!.sshd, ['-t', '-f', file], { encoding: 'utf8' }).status, 0);
  assert.throws(() => resolveSshdConfig(readSshdConfig(file)), /AuthenticationMethods cannot be satisfied/);
  for (const [body, line] of broken) {
    const file = join(dir, 'broken.conf');
    writeFileSync(file, `HostKey ${hostKey}\n${body}\n`);
    const r = spawnSync(openssh!.sshd, ['-t', '-f', file], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, body);
    assert.ok(r.stderr.includes(`${file}`) && new RegExp(`line ${line}\\b`).test(r.stderr), `sshd: ${r.stderr}`);
    assert.throws(
      () => readSshdConfig(file),
      (e: unknown) => e instanceof SshdConfigError && e.file === file && e.line === line,
      body,
    );
  }
});
