// Host certificates both ways with OpenSSH: OpenSSH's ssh trusting a Nacre
// server's HostCertificate through an `@cert-authority` line, the Nacre client
// trusting sshd's (and refusing the ones ssh would), and the Nacre client
// finding a user certificate next to its key file as ssh does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, keygen, runSsh, startSshd, tempDir, type Sshd } from './openssh.js';
import { runNacre } from './nacre-run.js';
import { connect } from '../../src/client/client.js';
import { HostKeyRejectedError } from '../../src/errors.js';
import { generateHostKey, parseOpenSshPublicKeyLine, signerFromPrivateKeyFile, formatOpenSshPublicKeyLine, type KeySigner } from '../../src/keys/index.js';
import { signCertificate, type CertificateRequest } from '../../src/keys/certificate.js';
import { createServer, type Server } from '../../src/server/server.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;

let dir = '';
let caPath = '';
let caLine = '';
let ca: KeySigner;
let sshd: Sshd | undefined;
const keyDirs: string[] = [];

/** Signs sshd's host key `type` with ssh-keygen -h; returns the -cert.pub path. */
function hostCertBySshKeygen(hostKeyPath: string, principals: string, validity = '-5m:+1h'): string {
  const r = spawnSync(openssh!.keygen, ['-q', '-s', caPath, '-h', '-I', 'sshd-host', '-n', principals, '-V', validity, hostKeyPath + '.pub'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return hostKeyPath + '-cert.pub';
}

before(async () => {
  if (!openssh) return;
  dir = tempDir('host-cert');
  const k = keygen(openssh, dir, 'ed25519', 'ca');
  caPath = k.privatePath;
  caLine = k.publicLine;
  ca = signerFromPrivateKeyFile(readFileSync(caPath));
});

after(async () => {
  await sshd?.stop();
  for (const d of [dir, ...keyDirs]) if (d) rmSync(d, { recursive: true, force: true });
});

function knownHostsFile(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Host keys made here and certified by the CA, served by a private sshd (HostKey + HostCertificate). */
async function certifiedSshd(principals: string, validity = '-5m:+1h', authorizedKeys = ''): Promise<{ sshd: Sshd; plain: Record<string, string> }> {
  const keyDir = tempDir('host-cert-keys');
  keyDirs.push(keyDir);
  const lines: string[] = [];
  const plain: Record<string, string> = {};
  for (const type of ['ed25519', 'rsa'] as const) {
    const k = keygen(openssh!, keyDir, type, `host_${type}`, type === 'rsa' ? 3072 : undefined);
    plain[type] = k.publicLine;
    lines.push(`HostKey ${k.privatePath}`, `HostCertificate ${hostCertBySshKeygen(k.privatePath, principals, validity)}`);
  }
  return { sshd: await startSshd(openssh!, lines, { hostKeyTypes: [], authorizedKeys }), plain };
}

async function hostKeyOf(port: number, knownHosts: string, algorithms?: string[]) {
  const c = await connect({
    host: '127.0.0.1',
    port,
    username: 'nobody-logs-in',
    password: 'wrong',
    knownHosts,
    readyTimeout: 10000,
    ...(algorithms ? { algorithms: { hostKey: algorithms } } : {}),
  }).catch((err: unknown) => err);
  return c;
}

test('the Nacre client trusts sshd host certificates (Ed25519 and RSA) through an @cert-authority line', { skip, timeout: 60000 }, async () => {
  const userKey = keygen(openssh!, dir, 'ed25519', 'id_login');
  const { sshd: d } = await certifiedSshd('127.0.0.1,localhost', undefined, userKey.publicLine + '\n');
  sshd = d;
  const kh = knownHostsFile('kh_ca', ['# CA for the test hosts', `@cert-authority [127.0.0.1]:${d.port},other.example ${caLine}`]);
  for (const alg of ['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com']) {
    // the host key is judged before authentication, which fails here on purpose
    let seen: unknown;
    const err = await connect({
      host: '127.0.0.1',
      port: d.port,
      username: 'nobody-logs-in',
      password: 'wrong',
      knownHosts: kh,
      algorithms: { hostKey: [alg] },
      verifyHostKey: (info) => {
        seen = info;
        return true;
      },
    }).catch((e: unknown) => e);
    assert.ok(!(err instanceof HostKeyRejectedError), String(err));
    const info = seen as import('../../src/client/options.js').HostKeyInfo;
    assert.equal(info.algorithm, alg);
    assert.equal(info.knownHosts, 'match');
    assert.deepEqual(info.knownHostsEntry, { file: kh, line: 2, keyType: 'ssh-ed25519' });
    assert.equal(info.certificate?.trusted, true, info.certificate?.problem);
    assert.equal(info.certificate?.keyId, 'sshd-host');
    assert.deepEqual(info.certificate?.principals, ['127.0.0.1', 'localhost']);
  }
  // without verifyHostKey: the default policy accepts it on the CA line alone
  const c = await hostKeyOf(d.port, kh);
  assert.ok(!(c instanceof HostKeyRejectedError), String(c));
  // the default preference asks for a certificate first when a CA line exists
  let algorithm = '';
  await connect({ host: '127.0.0.1', port: d.port, username: 'x', password: 'y', knownHosts: kh, verifyHostKey: (i) => ((algorithm = i.algorithm), true) }).catch(() => undefined);
  assert.equal(algorithm, 'ssh-ed25519-cert-v01@openssh.com');
  // a login over it: publickey-hostbound binds the signature to the certificate sshd sent
  const logged = await connect({ host: '127.0.0.1', port: d.port, username: user, privateKeyFile: userKey.privatePath, knownHosts: kh });
  try {
    assert.equal(logged.hostKey?.certificate?.trusted, true);
    assert.equal(String((await logged.exec('echo over-cert')).stdout).trim(), 'over-cert');
  } finally {
    logged.close();
  }
  assert.match(d.log(), /method publickey-hostbound-v00@openssh.com/);
  assert.match(d.log(), /Accepted publickey for .* ssh2: ED25519 /);
});

test('the Nacre client refuses sshd host certificates for another host, expired or from a revoked CA, as ssh does', { skip, timeout: 60000 }, async () => {
  await sshd?.stop();
  sshd = undefined;
  const cases: { principals: string; validity?: string; extra?: string[]; why: RegExp }[] = [
    { principals: 'elsewhere.example', why: /not a principal of the certificate/ },
    { principals: '127.0.0.1', validity: '-2h:-1h', why: /expired/ },
    { principals: '127.0.0.1', extra: [`@revoked * ${caLine}`], why: /revoked/ },
  ];
  for (const c of cases) {
    const { sshd: d } = await certifiedSshd(c.principals, c.validity);
    try {
      const kh = knownHostsFile('kh_bad', [`@cert-authority [127.0.0.1]:${d.port} ${caLine}`, ...(c.extra ?? [])]);
      const err = await hostKeyOf(d.port, kh, ['ssh-ed25519-cert-v01@openssh.com']);
      assert.ok(err instanceof HostKeyRejectedError, `${c.principals}: ${String(err)}`);
      assert.match(err.message, c.why);
    } finally {
      await d.stop();
    }
  }
});

test('a host certificate whose CA is not listed is checked as its plain key (ssh falls back the same way)', { skip, timeout: 60000 }, async () => {
  const { sshd: d, plain } = await certifiedSshd('127.0.0.1');
  try {
    const blob = parseOpenSshPublicKeyLine(plain.ed25519!).blob;
    // plain key known: accepted, and the info says why the certificate did not count
    const known = knownHostsFile('kh_plain', [`[127.0.0.1]:${d.port} ${formatOpenSshPublicKeyLine(blob)}`]);
    let seen: import('../../src/client/options.js').HostKeyInfo | undefined;
    await connect({ host: '127.0.0.1', port: d.port, username: 'x', password: 'y', knownHosts: known, algorithms: { hostKey: ['ssh-ed25519-cert-v01@openssh.com'] }, verifyHostKey: (i) => ((seen = i), true) }).catch(() => undefined);
    assert.equal(seen?.knownHosts, 'match');
    assert.equal(seen?.certificate?.trusted, false);
    assert.match(seen?.certificate?.problem ?? '', /not listed as @cert-authority/);
    assert.deepEqual(seen?.key, blob);
    // plain key unknown: refused, naming both
    const unknown = knownHostsFile('kh_none', ['# nothing']);
    const err = await hostKeyOf(d.port, unknown, ['ssh-ed25519-cert-v01@openssh.com']);
    assert.ok(err instanceof HostKeyRejectedError, String(err));
    assert.match(err.message, /not in known_hosts.*host certificate was not accepted: its CA SHA256:\S+ is not listed/);
  } finally {
    await d.stop();
  }
});

test('CASignatureAlgorithms without the CA\'s algorithm: the certificate does not count, for nacre as for ssh (refused on a CA line alone, accepted by default)', { skip, timeout: 60000 }, async () => {
  const { sshd: d } = await certifiedSshd('127.0.0.1');
  try {
    const kh = knownHostsFile('kh_casig', [`@cert-authority [127.0.0.1]:${d.port} ${caLine}`]);
    // Library: the Ed25519 CA's signature is not in the list, so the certificate is checked as its plain key, which is unknown.
    const err = await connect({ host: '127.0.0.1', port: d.port, username: 'x', password: 'y', knownHosts: kh, caSignatureAlgorithms: ['rsa-sha2-512'], algorithms: { hostKey: ['ssh-ed25519-cert-v01@openssh.com'] }, readyTimeout: 10000 }).catch((e: unknown) => e);
    assert.ok(err instanceof HostKeyRejectedError, String(err));
    assert.match(err.message, /the CA signed with ssh-ed25519, which is not accepted/);
    // The commands, ssh as the oracle.
    const home = tempDir('host-cert-home');
    keyDirs.push(home);
    const args = (extra: string[]) => ['-F', 'none', '-p', String(d.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com,ssh-ed25519', '-o', 'LogLevel=ERROR', ...extra, '127.0.0.1', 'true'];
    for (const [extra, refused] of [[['-o', 'CASignatureAlgorithms=rsa-sha2-512,rsa-sha2-256'], true], [[], false], [['-o', 'CASignatureAlgorithms=ssh-ed25519'], false]] as const) {
      const ssh = spawnSync(openssh!.ssh, args([...extra]), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } });
      const nacre = await runNacre(args([...extra]), { home });
      assert.equal(ssh.status, 255);
      assert.equal(nacre.code, 255, nacre.stderr);
      const verdict = (text: string) => (/Host key verification failed/.test(text) ? 'refused' : /Permission denied/.test(text) ? 'authentication' : text);
      assert.equal(verdict(ssh.stderr), refused ? 'refused' : 'authentication', ssh.stderr);
      assert.equal(verdict(nacre.stderr), verdict(ssh.stderr), nacre.stderr);
    }
  } finally {
    await d.stop();
  }
});

test('OpenSSH ssh accepts a Nacre server host certificate (Ed25519 and RSA) through @cert-authority', { skip, timeout: 60000 }, async () => {
  const client = keygen(openssh!, dir, 'ed25519', 'id_user');
  const allowed = parseOpenSshPublicKeyLine(client.publicLine).blob;
  const now = BigInt(Math.floor(Date.now() / 1000));
  const hostKeys = [generateHostKey('ssh-ed25519'), generateHostKey('ssh-rsa', 2048)];
  const request = (k: KeySigner): CertificateRequest => ({ publicKey: k.publicBlob, kind: 'host', random: randomBytes, keyId: 'nacre-host', principals: ['127.0.0.1'], validAfter: now - 300n, validBefore: now + 3600n });
  const server: Server = createServer({
    hostKeys,
    hostCertificates: hostKeys.map((k) => signCertificate(request(k), ca)),
    auth: { failureDelayMs: 0 },
    authenticate: (ctx) => ctx.method === 'publickey' && Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(allowed)),
    session: (s) => {
      s.onExec = (cmd, ch) => {
        ch.write(`ran ${cmd}\n`);
        ch.exit(0);
      };
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const kh = knownHostsFile('kh_ssh', [`@cert-authority [127.0.0.1]:${port} ${caLine}`]);
    for (const alg of ['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com']) {
      const r = await runSsh(openssh!, [
        '-v', '-p', String(port),
        '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
        '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', client.privatePath,
        '-o', `HostKeyAlgorithms=${alg}`,
        `${user}@127.0.0.1`, 'hello',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /ran hello/);
      assert.match(r.stderr, /Server host certificate: \S+-cert-v01@openssh\.com SHA256:\S+, serial 0 ID "nacre-host" CA ssh-ed25519/);
      assert.match(r.stderr, /is known and matches the \S+-CERT host certificate/);
    }
    // a certificate for another name: ssh refuses it (and has no plain key to fall back on)
    const other = createServer({ hostKeys: [hostKeys[0]!], hostCertificates: [signCertificate({ ...request(hostKeys[0]!), principals: ['elsewhere'] }, ca)] });
    const otherPort = (await other.listen(0, '127.0.0.1')).port;
    try {
      const kh2 = knownHostsFile('kh_ssh2', [`@cert-authority [127.0.0.1]:${otherPort} ${caLine}`]);
      const r = await runSsh(openssh!, ['-p', String(otherPort), '-o', `UserKnownHostsFile=${kh2}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${user}@127.0.0.1`, 'true']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Certificate invalid: name is not a listed principal|not a listed principal/);
    } finally {
      await other.close();
    }
  } finally {
    await server.close();
  }
});

test('the Nacre client offers <key>-cert.pub found next to privateKeyFile, and a { key, certificate } privateKey, to sshd with TrustedUserCAKeys', { skip, timeout: 60000 }, async () => {
  const trusted = join(dir, 'trusted_user_ca');
  writeFileSync(trusted, caLine + '\n');
  const d = await startSshd(openssh!, [`TrustedUserCAKeys ${trusted}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no'], { hostKeyTypes: ['ed25519'] });
  try {
    const k = keygen(openssh!, dir, 'ed25519', 'id_certified');
    const r = spawnSync(openssh!.keygen, ['-q', '-s', caPath, '-I', 'user-cert', '-n', user, '-V', '-5m:+1h', k.privatePath + '.pub'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const run = async (auth: Parameters<typeof connect>[0]) => {
      const c = await connect({ host: '127.0.0.1', port: d.port, username: user, knownHosts: false, verifyHostKey: () => true, ...auth });
      try {
        return String((await c.exec('echo by-cert')).stdout).trim();
      } finally {
        c.close();
      }
    };
    assert.equal(await run({ privateKeyFile: k.privatePath }), 'by-cert');
    assert.equal(await run({ privateKey: { key: readFileSync(k.privatePath), certificate: readFileSync(k.privatePath + '-cert.pub', 'utf8') } }), 'by-cert');
    assert.match(d.log(), /Accepted publickey for \S+ from \S+ port \d+ ssh2: ED25519-CERT SHA256:\S+ ID user-cert/);
  } finally {
    await d.stop();
  }
});
