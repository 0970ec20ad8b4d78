// Seeded random sshd_config files, compared with `sshd -T` for four
// connection specs: global lines (some with bad values) and Match blocks
// by user, group, address, host, local address and port. Both must refuse
// the same files, and print the same lines otherwise (with the deliberate
// differences of test/interop/sshd-config.test.ts filtered the same way,
// plus Debian's SILENT spelling of LogLevel QUIET and sshd's "(null)" for
// HostKey none). Runs where sshd itself crashes (see below) are skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { resolveSshdConfig, formatSshdConfig, parseMatchSpec, SshdConfigError } from '../../src/config/index.js';
import { readSshdConfig } from '../../src/io/node/sshd-config-files.js';
import { seededRandom } from '../../src/testing/random.js';
import { nacreAlgorithmLine } from './sshd-config-oracle.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed';
const root = process.getuid?.() === 0;
let dir = '';
let hostKey = '';
before(() => {
  dir = tempDir('sshd-config-random');
  if (openssh) hostKey = keygen(openssh, dir, 'ed25519', 'host_ed25519').privatePath;
});
after(() => rmSync(dir, { recursive: true, force: true }));


type Values = Record<string, readonly string[]>;
// Keywords allowed in Match blocks, with values to draw from.
const IN_MATCH: Values = {
  PermitRootLogin: ['yes', 'no', 'prohibit-password', 'without-password', 'forced-commands-only'],
  PubkeyAuthentication: ['yes', 'no'],
  PasswordAuthentication: ['yes', 'no'],
  PermitTTY: ['yes', 'no'],
  PermitUserRC: ['yes', 'no'],
  AllowAgentForwarding: ['yes', 'no'],
  DisableForwarding: ['yes', 'no'],
  MaxAuthTries: ['0', '3', '9'],
  MaxSessions: ['1', '12'],
  ClientAliveCountMax: ['0', '4'],
  ClientAliveInterval: ['0', '15', '1m'],
  AllowTcpForwarding: ['yes', 'no', 'local', 'remote', 'all'],
  AllowStreamLocalForwarding: ['yes', 'no', 'local', 'remote', 'all'],
  GatewayPorts: ['yes', 'no', 'clientspecified'],
  PermitOpen: ['any', 'none', 'localhost:22', 'a:1 b:* [::1]:3'],
  PermitListen: ['any', 'none', '80', 'localhost:22 99'],
  AcceptEnv: ['LANG', 'LC_* TZ'],
  SetEnv: ['A=1', 'B=2 C=3', 'A=9'],
  AllowUsers: ['alice', 'bob@10.0.0.0/8', '*'],
  DenyUsers: ['mallory', 'x@1.2.3.4'],
  AllowGroups: ['staff', 'root'],
  DenyGroups: ['nogroup'],
  AuthorizedKeysFile: ['.ssh/a', '/k/%u .ssh/b', 'none'],
  AuthorizedPrincipalsFile: ['none', '/p/%u'],
  TrustedUserCAKeys: ['none', '/ca'],
  RevokedKeys: ['none', '/krl'],
  Banner: ['none', '/b'],
  ForceCommand: ['none', '/bin/true', 'echo  a b'],
  LogLevel: ['INFO', 'VERBOSE', 'DEBUG', 'DEBUG2', 'QUIET'],
  AuthenticationMethods: ['any', 'publickey', 'publickey,password publickey'],
  Subsystem: ['sftp /s', 'x /y -z', 'sftp internal-sftp'],
  PubkeyAcceptedAlgorithms: ['+ssh-rsa', '-ssh-rsa*', '^rsa-sha2-512', 'ssh-ed25519,rsa-sha2-256'],
  RequiredRSASize: ['0', '2048', '4096'],
  CASignatureAlgorithms: ['+ssh-rsa', '-rsa*', '^ecdsa-sha2-nistp384', 'ssh-ed25519,rsa-sha2-256', 'ssh-*'],
  PubkeyAuthOptions: ['none', 'touch-required', 'verify-required', 'verify-required touch-required'],
};
const GLOBAL_ONLY: Values = {
  Port: ['22', '2222', '40000'],
  AddressFamily: ['any', 'inet', 'inet6'],
  ListenAddress: ['127.0.0.1', '127.0.0.2:99', '[::1]:98'],
  HostKey: ['/k1', '/k2'],
  HostCertificate: ['/c1'],
  StrictModes: ['yes', 'no'],
  Compression: ['yes', 'no', 'delayed'],
  PrintMotd: ['yes', 'no'],
  LoginGraceTime: ['30', '2m30s', '0'],
  MaxStartups: ['10', '5:20:30', '3:100:3'],
  PerSourceMaxStartups: ['none', '5'],
  PerSourceNetBlockSize: ['24:64', '32:128'],
  PerSourcePenalties: ['no', 'yes', 'crash:5', 'authfail:1m noauth:3', 'max:9 min:2 overflow:deny-all', 'overflow6:deny-all max-sources4:3'],
  PerSourcePenaltyExemptList: ['10.0.0.0/8', '1.2.3.4,::1'],
  PidFile: ['/p', 'none'],
  SyslogFacility: ['AUTH', 'LOCAL0'],
  PermitUserEnvironment: ['yes', 'no', 'A,B'],
  Ciphers: ['+aes128-cbc', '-aes*', '^aes256-ctr', 'chacha20-poly1305@openssh.com'],
  MACs: ['-hmac-sha1*', '^hmac-sha2-512'],
  KexAlgorithms: ['-*sntrup*', '^curve25519-sha256', '+diffie-hellman-group14-sha256'],
  HostKeyAlgorithms: ['ssh-ed25519*', '-rsa*'],
};
/** Bad or odd values, drawn now and then (never for ListenAddress: sshd would look a name up). */
const ODD = ['0', '-1', 'x', '1:2', '*', 'none', 'yes', 'a b', '10:200:5', '0s', '"q'];
const MATCHES = ['User alice', 'User alice,!bob', 'Group root', 'Address 10.0.0.0/8', 'Address !10.1.0.0/16,10.0.0.0/8', 'Host *.example.org', 'LocalAddress 127.0.0.2', 'LocalPort 2222', 'all', 'User root Address 10.0.0.0/8'];
// Every spec has lport: sshd -T refuses a LocalPort criterion without it.
const SPECS = [
  'lport=22',
  'user=alice,addr=10.2.3.4,host=a.example.org,laddr=127.0.0.2,lport=2222',
  'user=root,addr=10.1.0.5,host=b.example.net,laddr=127.0.0.1,lport=22',
  'user=bob,addr=1.2.3.4,lport=2222',
];

function randomConfig(random: (n: number) => Uint8Array): string {
  const int = (n: number) => random(1)[0]! % n;
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const lines = [`HostKey ${hostKey}`];
  const all = { ...GLOBAL_ONLY, ...IN_MATCH };
  for (let i = int(12); i > 0; i--) {
    const k = pick(Object.keys(all));
    lines.push(`${k} ${k !== 'ListenAddress' && int(12) === 0 ? pick(ODD) : pick(all[k]!)}`);
  }
  for (let b = int(4); b > 0; b--) {
    lines.push(`Match ${pick(MATCHES)}`);
    for (let i = 1 + int(4); i > 0; i--) {
      const k = pick(Object.keys(IN_MATCH));
      // (Not for Subsystem: sshd checks its command only in blocks that apply; Nacre always does, on purpose.)
      lines.push(`  ${k} ${k !== 'Subsystem' && int(10) === 0 ? pick(ODD) : pick(IN_MATCH[k]!)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function sshdView(out: string, keywords: ReadonlySet<string>, config: string): string[] {
  const lines: string[] = [];
  for (const l of out.split('\n')) {
    const [k, ...rest] = l.split(' ');
    if (!keywords.has(k!) || l.endsWith(' (null)')) continue;
    const algorithms = nacreAlgorithmLine(k!, rest);
    if (algorithms !== null) lines.push(algorithms);
    else if (k === 'pidfile' && !/^\s*PidFile/im.test(config)) lines.push('pidfile /run/nacred.pid');
    else if (k === 'loglevel' && rest[0] === 'SILENT') lines.push('loglevel QUIET');
    else if (k === 'persourcenetblocksize' && /^\s*persourcenetblocksize\s+\d+\s*$/im.test(config)) lines.push(`${k} ${rest[0]!.split(':')[0]}:128`);
    else lines.push(l);
  }
  return lines;
}

test('seeded random files: sshd -T and Nacre agree, line for line, and refuse the same files', { skip, timeout: 120000 }, () => {
  const random = seededRandom('sshd-config-random');
  const file = join(dir, 'random.conf');
  let refused = 0;
  let compared = 0;
  let crashed = 0;
  for (let n = 0; n < 80; n++) {
    const config = randomConfig(random);
    writeFileSync(file, config);
    let parsed: ReturnType<typeof readSshdConfig> | SshdConfigError;
    try {
      parsed = readSshdConfig(file);
    } catch (e) {
      if (!(e instanceof SshdConfigError)) throw e;
      parsed = e;
    }
    for (const spec of SPECS) {
      const r = spawnSync(openssh!.sshd, ['-T', '-f', file, '-C', spec], { encoding: 'utf8' });
      // sshd 10.0p2 -T crashes (SIGSEGV) on a Subsystem in a matching Match block when no global Subsystem exists: no oracle there.
      if (r.signal !== null) {
        crashed++;
        continue;
      }
      let ours: string | SshdConfigError;
      if (parsed instanceof SshdConfigError) ours = parsed;
      else {
        const matchSpec = parseMatchSpec(spec);
        // `Match Group root` needs the account's groups; only root's are known to be ['root', ...].
        const withGroups = spec.includes('user=root') && root ? { ...matchSpec, groups: ['root'] } : matchSpec;
        try {
          ours = formatSshdConfig(resolveSshdConfig(parsed, withGroups));
        } catch (e) {
          if (!(e instanceof SshdConfigError)) throw e;
          ours = e;
        }
      }
      if (ours instanceof SshdConfigError || r.status !== 0) {
        assert.equal(ours instanceof SshdConfigError, r.status !== 0, `${spec}\n${config}\nsshd: ${r.stderr}\nnacre: ${ours instanceof SshdConfigError ? ours.message : 'accepted'}`);
        refused++;
        continue;
      }
      if (!root && config.includes('Match Group root')) continue;
      const mine = ours.split('\n').filter((l) => l !== '' && !l.startsWith('passwordfile '));
      assert.deepEqual(mine, sshdView(r.stdout, new Set(mine.map((l) => l.split(' ')[0]!)), config), `${spec}\n${config}`);
      compared++;
    }
  }
  assert.ok(refused > 20 && compared > 120, `refused ${refused}, compared ${compared}, sshd crashed ${crashed}: the generator should give both`);
});
