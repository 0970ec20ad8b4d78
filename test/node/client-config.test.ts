// connect({ host: alias, config }) against a Nacre server: HostName, Port,
// User, IdentityFile, UserKnownHostsFile and StrictHostKeyChecking come from
// the file, options given to connect() win; and the mapping from a resolved
// ssh_config to ConnectOptions, keyword by keyword.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { sshConfigToConnectOptions, configIdentityFiles } from '../../src/client/config-options.js';
import { resolveSshConfig, type SshConfigIO } from '../../src/config/index.js';
import { randomBytes } from 'node:crypto';
import { generateHostKey, generatePrivateKey, signerFromKeyObject, signCertificate, formatCertificateLine } from '../../src/keys/index.js';
import { configIdentities } from '../../src/client/config-options.js';
import { writePrivateKeyFile } from '../../src/io/node/key-files.js';
import { ConfigError } from '../../src/errors.js';
import { startServer, type TestServer } from './server-helpers.js';

let dir = '';
let server: TestServer;
const userKey = generatePrivateKey('ssh-ed25519');
const userSigner = signerFromKeyObject(userKey);
const logins: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nacre-client-config-'));
  writePrivateKeyFile(join(dir, 'id_test'), userKey);
  server = await startServer({
    authenticate: (ctx) => {
      if (ctx.method !== 'publickey' || !Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(userSigner.publicBlob))) return false;
      if (ctx.signed) logins.push(ctx.username);
      return true;
    },
  });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    [
      'Host prod',
      '  HostName 127.0.0.1',
      `  Port ${server.port}`,
      '  User deploy',
      `  IdentityFile ${dir}/id_test`,
      `  UserKnownHostsFile ${dir}/known_hosts`,
      '  GlobalKnownHostsFile none',
      '  StrictHostKeyChecking accept-new',
      '  ServerAliveInterval 0',
      '  IdentityAgent none',
      '',
    ].join('\n'),
  );
  return file;
}

test('connect({ host: alias, config: path }) takes host, port, user, key and known_hosts from the file', async () => {
  const file = writeConfig();
  const c = await connect({ host: 'prod', config: file, readyTimeout: 10_000 });
  await c.close();
  assert.equal(logins.at(-1), 'deploy');
  // accept-new wrote the server's key to the UserKnownHostsFile.
  assert.match(readFileSync(join(dir, 'known_hosts'), 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${server.port} ssh-ed25519 `));
  // Options given win over the file's.
  const d = await connect({ host: 'prod', config: file, username: 'override', readyTimeout: 10_000 });
  await d.close();
  assert.equal(logins.at(-1), 'override');
});

test('connect with a broken config file fails with ConfigError naming file and line, before any socket', async () => {
  const file = join(dir, 'broken');
  writeFileSync(file, 'Host prod\n  Port 99999\n');
  await assert.rejects(connect({ host: 'prod', config: file }), (e: unknown) => e instanceof ConfigError && e.file === file && e.line === 2);
  await assert.rejects(connect({ config: file }), ConfigError);
});

function memoryIO(text: string, home: string): SshConfigIO {
  return { readFile: (p: string) => (p === '/cfg' ? text : null), glob: () => [], exec: () => false, localUser: 'me', localHost: 'box', home, uid: 1, env: { SSH_AUTH_SOCK: '/run/agent', SOCKS: '/s' } };
}

test('sshConfigToConnectOptions: keyword by keyword', () => {
  const text = `
Host h
  HostName real.example.com
  Port 2200
  User u
  IdentitiesOnly yes
  IdentityAgent \${SOCKS}/agent-%r
  ProxyJump j1,j2
  HostKeyAlias alias
  UserKnownHostsFile ~/kh1 ~/kh2
  GlobalKnownHostsFile /etc/g
  StrictHostKeyChecking no
  HashKnownHosts yes
  RevokedHostKeys ~/revoked
  UpdateHostKeys no
  KexAlgorithms +diffie-hellman-group14-sha256
  Ciphers aes128-ctr
  MACs -hmac-sha1
  HostKeyAlgorithms ^ssh-ed25519
  Compression yes
  ConnectTimeout 5
  ConnectionAttempts 3
  ServerAliveInterval 10
  ServerAliveCountMax 4
  RekeyLimit 1M 30m
  BindAddress 127.0.0.2
  AddressFamily inet
  ForwardAgent yes
  AddKeysToAgent confirm 1h
  RequiredRSASize 3072
  CASignatureAlgorithms -rsa-sha2-*
  PermitRemoteOpen 127.0.0.1:8080 *:22
`;
  const config = resolveSshConfig({ host: 'h', configFile: '/cfg' }, memoryIO(text, dir));
  const o = sshConfigToConnectOptions(config, { env: { SSH_AUTH_SOCK: '/run/agent', SOCKS: '/s' } });
  assert.deepEqual(
    { ...o },
    {
      host: 'real.example.com',
      port: 2200,
      username: 'u',
      identitiesOnly: true,
      agent: '/s/agent-u',
      proxyJump: 'j1,j2',
      hostKeyAlias: 'alias',
      knownHosts: [`${dir}/kh1`, `${dir}/kh2`],
      globalKnownHosts: ['/etc/g'],
      acceptUnknownHostKey: true,
      hashKnownHosts: true,
      revokedHostKeys: `${dir}/revoked`,
      updateHostKeys: false,
      requiredRsaSize: 3072,
      caSignatureAlgorithms: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'],
      permitRemoteOpen: ['127.0.0.1:8080', '*:22'],
      algorithms: { kex: '+diffie-hellman-group14-sha256', cipher: 'aes128-ctr', mac: '-hmac-sha1', hostKey: '^ssh-ed25519', compression: '^zlib@openssh.com' },
      connectTimeout: 5000,
      connectionAttempts: 3,
      keepalive: { intervalMs: 10_000, countMax: 4 },
      rekey: { bytes: 1 << 20, intervalMs: 30 * 60_000 },
      localAddress: '127.0.0.2',
      family: 4,
      forwardAgent: true,
      addKeysToAgent: { confirm: true, lifetime: 3600 },
    },
  );
  // Defaults: the agent from SSH_AUTH_SOCK, ~/.ssh/known_hosts, ssh's global files, UpdateHostKeys yes, no identities (none present).
  const d = sshConfigToConnectOptions(resolveSshConfig({ host: 'x', configFile: '/cfg' }, memoryIO('', dir)), { env: { SSH_AUTH_SOCK: '/run/agent' } });
  assert.deepEqual({ ...d }, { host: 'x', port: 22, username: 'me', agent: true, knownHosts: `${dir}/.ssh/known_hosts`, globalKnownHosts: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'], updateHostKeys: true });
});

test('identities: ssh default files that are present, with their -cert.pub; configured ones expanded', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacre-home-'));
  try {
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { mode: 0o700 });
    writePrivateKeyFile(join(ssh, 'id_ed25519'), userKey);
    writePrivateKeyFile(join(ssh, 'id_rsa'), userKey, { passphrase: 'pw' });
    const none = resolveSshConfig({ host: 'x', configFile: '/cfg' }, memoryIO('', home));
    assert.deepEqual(configIdentityFiles(none, {}), { identities: [join(ssh, 'id_rsa'), join(ssh, 'id_ed25519')], certificates: [], defaults: true });
    // The encrypted default key is skipped (ssh would ask for its passphrase); the other is used.
    const o = sshConfigToConnectOptions(none, { env: {} });
    assert.equal((o.privateKey as unknown[]).length, 1);
    const configured = resolveSshConfig({ host: 'x', configFile: '/cfg' }, memoryIO('IdentityFile ~/.ssh/id_%r\nIdentityFile ~/.ssh/missing\n', home));
    assert.deepEqual(configIdentityFiles(configured, {}).identities, []);
    const mine = resolveSshConfig({ host: 'x', configFile: '/cfg' }, memoryIO('User ed25519\nIdentityFile ~/.ssh/id_%r\n', home));
    assert.deepEqual(configIdentityFiles(mine, {}).identities, [join(ssh, 'id_ed25519')]);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('CertificateFile: a certificate is offered before the key it certifies, ahead of the key, not for other keys', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacre-home-'));
  try {
    const ca = generateHostKey('ssh-ed25519');
    const other = generatePrivateKey('ssh-ed25519');
    writePrivateKeyFile(join(home, 'k1'), userKey);
    writePrivateKeyFile(join(home, 'k2'), other);
    const cert = signCertificate({ publicKey: userSigner.publicBlob, kind: 'user', random: randomBytes, principals: ['u'] }, ca);
    writeFileSync(join(home, 'k1-cert-elsewhere.pub'), formatCertificateLine(cert) + '\n');
    const config = resolveSshConfig({ host: 'x', configFile: '/cfg' }, memoryIO('IdentityFile ~/k2\nIdentityFile ~/k1\nCertificateFile ~/k1-cert-elsewhere.pub\n', home));
    const types = configIdentities(config, undefined, {}).map((s) => s.keyType);
    assert.deepEqual(types, ['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519']);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
