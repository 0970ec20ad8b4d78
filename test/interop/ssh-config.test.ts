// The ssh_config resolver and the -G printer against OpenSSH's own
// `ssh -G -F file host`: the same files, -o lines and flags give the same
// lines for every keyword Nacre prints. Lines Nacre prints differently by
// design are left out of the comparison: the default algorithm lists (each
// implementation's own), ssh's id_xmss default identity (no XMSS in Nacre),
// and warnweakcrypto (OpenSSH 10.1; the peer here may be 10.0).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, tempDir } from './openssh.js';
import { printSshConfig, flagToConfigLine, forwardArguments, parseForwardSpec, type ForwardFlag } from '../../src/config/index.js';
import { readSshConfig } from '../../src/io/node/ssh-config-files.js';
import { ConfigError } from '../../src/errors.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed';
let dir = '';

before(() => {
  dir = tempDir('ssh-config');
});
after(() => rmSync(dir, { recursive: true, force: true }));

// casignaturealgorithms: ssh's default lists the security-key algorithms, which Nacre cannot verify.
const ALGORITHM_KEYWORDS = ['ciphers', 'macs', 'kexalgorithms', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms', 'casignaturealgorithms'];

interface Case {
  readonly name: string;
  readonly config: string;
  readonly hosts: readonly string[];
  /** ssh's flags, e.g. ['-o', 'Port=2', '-L', '1:h:2']. */
  readonly flags?: readonly string[];
  readonly files?: Readonly<Record<string, string>>;
}

/** What `nacre` does with ssh's flags: each becomes a command-line line. */
function flagsToLines(flags: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < flags.length; i += 2) {
    const flag = flags[i]!.slice(1);
    const value = flags[i + 1]!;
    if (flag === 'o') lines.push(value);
    else if (flag === 'L' || flag === 'R' || flag === 'D') {
      const kind: ForwardFlag = flag === 'L' ? 'local' : flag === 'R' ? 'remote' : 'dynamic';
      lines.push(flagToConfigLine(flag, forwardArguments(parseForwardSpec(value, kind)))!);
    } else lines.push(flagToConfigLine(flag, value)!);
  }
  return lines;
}

function compare(c: Case): void {
  const file = join(dir, `${c.name}.conf`);
  const config = c.config.replaceAll('@DIR@', dir);
  writeFileSync(file, config);
  for (const [name, text] of Object.entries(c.files ?? {})) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text.replaceAll('@DIR@', dir));
  }
  const flags = (c.flags ?? []).map((f) => f.replaceAll('@DIR@', dir));
  for (const host of c.hosts) {
    const ssh = spawnSync(openssh!.ssh, ['-G', '-F', file, ...flags, host], { encoding: 'utf8' });
    assert.equal(ssh.status, 0, `${c.name} ${host}: ssh -G failed: ${ssh.stderr}`);
    const ours = printSshConfig(readSshConfig({ host, configFile: file, commandLine: flagsToLines(flags) }, { home: userInfo().homedir }), process.env);
    const explicit = new Set(ALGORITHM_KEYWORDS.filter((k) => new RegExp(`^\\s*${k}[\\s=]+[^+^-]`, 'im').test(config)));
    const keep = (line: string) => {
      const k = line.split(' ')[0]!;
      return k !== 'warnweakcrypto' && line !== 'identityfile ~/.ssh/id_xmss' && (!ALGORITHM_KEYWORDS.includes(k) || explicit.has(k));
    };
    const printed = new Set(ours.split('\n').map((l) => l.split(' ')[0]));
    const theirs = ssh.stdout.split('\n').filter((l) => l !== '' && printed.has(l.split(' ')[0]) && keep(l));
    const mine = ours.split('\n').filter((l) => l !== '' && keep(l));
    assert.deepEqual(mine, theirs, `${c.name}, host ${host}`);
  }
}

const CASES: Case[] = [
  {
    name: 'hosts',
    config: `
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
  CertificateFile ~/.ssh/db-cert.pub
Host *
  IdentityFile ~/.ssh/id_ed25519
`,
    hosts: ['web.internal', 'secret.internal', 'db1', 'db3', 'Other'],
  },
  {
    name: 'match',
    config: `
Host short
  HostName long.example.com
Match host long.example.com originalhost short
  Port 1001
Match user root,nobody
  ServerAliveInterval 5
Match !localuser nosuchuser exec "test %h = long.example.com"
  ConnectTimeout 7
Match exec "false"
  Compression yes
Match localuser=* host=!nope,*
  Tag t1
Match tagged t1
  BatchMode yes
Match localnetwork 127.0.0.0/8
  ConnectionAttempts 4
Match localnetwork 192.0.2.0/24
  GatewayPorts yes
Match all
  ServerAliveCountMax 9
`,
    hosts: ['short', 'other'],
    flags: ['-o', 'User=root'],
  },
  {
    name: 'final',
    config: `
Host bar
  HostName Foo.Example
  SendEnv A_*
  LocalForward 1 h:2
  IdentityFile ~/.ssh/bar
Match final host foo.example
  Port 7
Match canonical
  User canon
Match !final
  Compression yes
Match final
  IdentityFile ~/.ssh/final
`,
    hosts: ['bar', 'baz'],
  },
  {
    name: 'include',
    config: `
Include @DIR@/inc.d/*.conf
Host a
  Port 11
Host *
  Include @DIR@/late.conf
`,
    files: {
      'inc.d/1.conf': 'Host a\n  User from-1\nMatch all\n',
      'inc.d/2.conf': 'Host b\n  User from-2\n',
      'inc.d/skip.txt': 'Host a\n  User never\n',
      'late.conf': 'Host a b\n  Port 99\n  Compression yes\n',
    },
    hosts: ['a', 'b', 'c'],
  },
  {
    name: 'tokens',
    config: `
Host t
  HostName %h.example.com
  User bob
  Port 2222
  ProxyJump jump1,u@jump2:2200
  ControlPath ~/.ssh/cm-%C-%h-%p-%r-%n-%l-%L-%u-%i-%d-%%
  UserKnownHostsFile ~/kh-%h %d/kh2-%n
  IdentityAgent ~/agent-%r.sock
  RemoteCommand echo %h %p %r %u
  RevokedHostKeys ~/revoked-%h
  HostKeyAlias alias-%h
Host u
  User \${HOME}-%u-%h-%p-%n-%l-%L-%d-%i-%%
Host *
  ProxyCommand nc %h %p
`,
    hosts: ['t', 'u'],
  },
  {
    name: 'lexing',
    config: 'Host "quoted host" lex\r\n\tUser=tabbed\r\n  Port = 2022\n  IdentityFile "~/.ssh/with space"\n  SendEnv "X_*" Y\\ Z   # comment\n' +
      "  RemoteCommand echo \"a  b\" 'c'  # kept\n  ProxyCommand=nc  %h %p\n  HostKeyAlias \"al ias\"\n",
    hosts: ['lex'],
  },
  {
    name: 'socket-tokens',
    config: `
Host x
  LocalForward /tmp/%h.sock h:80
  RemoteForward /tmp/r-%r.sock /tmp/l-%p.sock
  Include @DIR@/inc-%h.conf
`,
    files: { 'inc-x.conf': 'Port 5\n' },
    hosts: ['x', 'y'],
  },
  {
    name: 'values',
    config: `
Host *
  StrictHostKeyChecking accept-new
  RequestTTY force
  ControlMaster autoask
  ControlPersist 10m
  AddKeysToAgent confirm 1h
  EscapeChar ^B
  RekeyLimit 1G 2h
  ConnectTimeout 1m30s
  ConnectionAttempts 3
  SetEnv A=1 "B=two words"
  SetEnv A=3 C=4
  SendEnv LANG LC_*
  ForwardAgent @DIR@/fwd.sock
  LocalForward 8080 server:80
  LocalForward [::1]:8081 /run/remote.sock
  LocalForward /tmp/local.sock server:81
  RemoteForward 0 localhost:22
  RemoteForward 9000
  DynamicForward *:1080
  GatewayPorts yes
  ExitOnForwardFailure yes
  ClearAllForwardings no
  HashKnownHosts yes
  IdentitiesOnly yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  PubkeyAuthentication unbound
  PreferredAuthentications publickey,password
  LogLevel DEBUG
  VisualHostKey yes
  UpdateHostKeys ask
  AddressFamily inet6
  BindAddress 127.0.0.1
  GlobalKnownHostsFile /etc/a /etc/b
  Ciphers aes256-gcm@openssh.com,aes128-ctr
  KexAlgorithms curve25519-sha256
  SessionType none
  StdinNull yes
  ForkAfterAuthentication yes
`,
    files: { 'fwd.sock': '' },
    hosts: ['v'],
  },
  {
    name: 'commandline',
    config: `
Host *
  Port 1
  User filed
  IdentityFile ~/.ssh/b
  LocalForward 1 h:1
`,
    files: { id_a: '' },
    hosts: ['c'],
    flags: ['-o', 'Port=2', '-l', 'flag', '-i', '@DIR@/id_a', '-L', '[::1]:80:h:8080', '-R', '*:9001', '-D', '1081', '-o', 'StrictHostKeyChecking no', '-J', 'j@[::1]:22', '-p', '3'],
  },
  {
    // The keywords that narrow what the client trusts or lets the server reach (newuser F14).
    name: 'trust',
    config: `
Host narrow
  RequiredRSASize 3072
  CASignatureAlgorithms ssh-ed25519,rsa-sha2-512
  PermitRemoteOpen 127.0.0.1:8080 [::1]:* *:22 db.internal:5432
Host closed
  PermitRemoteOpen none
Host open
  PermitRemoteOpen any
Host *
  CASignatureAlgorithms rsa-sha2-256,ecdsa-sha2-nistp256
`,
    hosts: ['narrow', 'closed', 'open', 'other'],
    flags: ['-o', 'RequiredRSASize=2048'],
  },
];

for (const c of CASES) test(`ssh -G agrees: ${c.name}`, { skip }, () => compare(c));

test('a bad line: both refuse, both name the file and line', { skip }, () => {
  for (const [text, line] of [
    ['Host a\n  Port 99999\n', 2],
    ['Host a\n  User x\nProt 22\n', 3],
    ['LocalForward 8080\n', 1],
  ] as const) {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, text);
    const ssh = spawnSync(openssh!.ssh, ['-G', '-F', file, 'a'], { encoding: 'utf8' });
    assert.equal(ssh.status, 255);
    assert.match(ssh.stderr, new RegExp(`${file}:? line ${line}`));
    assert.throws(() => readSshConfig({ host: 'a', configFile: file }), (e: unknown) => e instanceof ConfigError && e.file === file && e.line === line && e.message.startsWith(`${file} line ${line}: `));
  }
});
