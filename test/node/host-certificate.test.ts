// Host certificates between a Nacre client and a Nacre server: trusted through
// an `@cert-authority` known_hosts line, refused (with the reason) when
// expired, for another host or revoked, and checked as the plain key when the
// CA is not listed, as ssh does. Also: user certificates found next to key
// files, and createServer refusing certificates it cannot present.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyRejectedError } from '../../src/errors.js';
import { KeyFileError, generateHostKey, signerFromKeyObject, formatOpenSshPublicKeyLine, type KeySigner } from '../../src/keys/index.js';
import { signCertificate, formatCertificateLine, CertificateError, type CertificateRequest } from '../../src/keys/certificate.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { hostKeyPolicy } from '../../src/client/host-key-policy.js';
import { loadIdentities } from '../../src/client/identities.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { createServer } from '../../src/server/server.js';
import { startServer, passwordSecret, testHostKey, type TestServer } from './server-helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nacre-hostcert-'));
  dirs.push(d);
  return d;
}
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ca = generateHostKey('ssh-ed25519');
const otherCa = generateHostKey('ssh-ed25519');
const now = BigInt(Math.floor(Date.now() / 1000));

function hostCert(over: Partial<CertificateRequest> = {}, signer: KeySigner = ca) {
  return signCertificate({ publicKey: testHostKey().publicBlob, kind: 'host', random: randomBytes, keyId: 'nacre-test-host', serial: 7n, principals: ['127.0.0.1'], validAfter: now - 60n, validBefore: now + 3600n, ...over }, signer);
}

async function certServer(over: Partial<CertificateRequest> = {}, signer: KeySigner = ca): Promise<TestServer> {
  const t = await startServer({ authenticate: passwordSecret, hostCertificates: [hostCert(over, signer)] });
  servers.push(t);
  return t;
}

function knownHosts(...lines: string[]): string {
  const path = join(tempDir(), 'known_hosts');
  writeFileSync(path, ['# test', ...lines].join('\n') + '\n');
  return path;
}

const caLine = (port: number, blob: Uint8Array = ca.publicBlob, hash = false) => formatKnownHostLine('127.0.0.1', port, blob, { marker: 'cert-authority', hash });

/** Connects with the default policy (no verifyHostKey): resolves the host key info, or rejects. */
async function hostKeyOf(t: TestServer, kh: string, extra: Record<string, unknown> = {}) {
  const c = await t.connect({ password: 'secret', knownHosts: kh, verifyHostKey: undefined, ...extra });
  return c.hostKey!;
}

test('a certificate whose CA is listed as @cert-authority for the host is trusted; the info names the CA line', async () => {
  const t = await certServer();
  for (const hash of [false, true]) {
    const kh = knownHosts(caLine(t.port + 1, otherCa.publicBlob), caLine(t.port, ca.publicBlob, hash));
    const info = await hostKeyOf(t, kh);
    assert.equal(info.algorithm, 'ssh-ed25519-cert-v01@openssh.com');
    assert.equal(info.knownHosts, 'match');
    assert.deepEqual(info.knownHostsEntry, { file: kh, line: 3, keyType: 'ssh-ed25519' });
    assert.ok(Buffer.from(info.key).equals(testHostKey().publicBlob));
    const cert = info.certificate!;
    assert.equal(cert.trusted, true);
    assert.equal(cert.problem, undefined);
    assert.equal(cert.keyId, 'nacre-test-host');
    assert.equal(cert.serial, 7n);
    assert.deepEqual(cert.principals, ['127.0.0.1']);
    assert.ok(Buffer.from(cert.caKey).equals(ca.publicBlob));
    assert.match(cert.caFingerprint, /^SHA256:/);
  }
});

test('refused with HostKeyRejectedError naming why: expired, not yet valid, another host, revoked CA, revoked key, CA of another host', async () => {
  const cases: [Partial<CertificateRequest>, (port: number) => string[], RegExp][] = [
    [{ validAfter: now - 7200n, validBefore: now - 3600n }, (p) => [caLine(p)], /host certificate was not accepted: the certificate expired/],
    [{ validAfter: now + 3600n, validBefore: now + 7200n }, (p) => [caLine(p)], /not valid before/],
    [{ principals: ['other.example', '*.example'] }, (p) => [caLine(p)], /"127\.0\.0\.1" is not a principal of the certificate/],
    [{}, (p) => [caLine(p), formatKnownHostLine('127.0.0.1', p, ca.publicBlob, { marker: 'revoked' })], /revoked in known_hosts .*line 3.*its CA SHA256:\S+ is revoked/],
    [{}, (p) => [caLine(p), formatKnownHostLine('127.0.0.1', p, testHostKey().publicBlob, { marker: 'revoked' })], /revoked.*the certified key is revoked/],
    [{}, (p) => [formatKnownHostLine('127.0.0.1', p + 1, ca.publicBlob, { marker: 'cert-authority' })], /not listed as @cert-authority/],
  ];
  for (const [over, lines, why] of cases) {
    const t = await certServer(over);
    await assert.rejects(hostKeyOf(t, knownHosts(...lines(t.port))), (e: unknown) => e instanceof HostKeyRejectedError && why.test(e.message) && e.fingerprint.startsWith('SHA256:'), String(why));
  }
  // a revoked CA is final even when the plain key is listed
  const t = await certServer();
  const plain = formatKnownHostLine('127.0.0.1', t.port, testHostKey().publicBlob);
  await assert.rejects(hostKeyOf(t, knownHosts(plain, caLine(t.port), formatKnownHostLine('127.0.0.1', t.port, ca.publicBlob, { marker: 'revoked' }))), HostKeyRejectedError);
});

test('a certificate from an unlisted CA, or invalid, is checked as its plain key, as ssh does', async () => {
  const t = await certServer({}, otherCa);
  const plain = formatKnownHostLine('127.0.0.1', t.port, testHostKey().publicBlob);
  const info = await hostKeyOf(t, knownHosts(caLine(t.port), plain));
  assert.equal(info.knownHosts, 'match');
  assert.equal(info.knownHostsEntry?.line, 3);
  assert.equal(info.certificate?.trusted, false);
  assert.match(info.certificate?.problem ?? '', /is not listed as @cert-authority/);
  // expired from the listed CA: the plain key still counts
  const expired = await certServer({ validAfter: now - 7200n, validBefore: now - 3600n });
  const e2 = await hostKeyOf(expired, knownHosts(caLine(expired.port), formatKnownHostLine('127.0.0.1', expired.port, testHostKey().publicBlob)));
  assert.equal(e2.knownHosts, 'match');
  assert.match(e2.certificate?.problem ?? '', /expired/);
  // accept-new records the plain key, never the certificate
  const kh = knownHosts();
  const added = await hostKeyOf(t, kh, { acceptUnknownHostKey: true });
  assert.ok(added.addedToKnownHosts);
  assert.ok(readFileSync(kh, 'utf8').includes(formatOpenSshPublicKeyLine(testHostKey().publicBlob)));
  // verifyHostKey sees the certificate and decides
  let seen = false;
  await t.connect({ password: 'secret', knownHosts: kh, verifyHostKey: (i) => ((seen = i.certificate?.trusted === false), true) });
  assert.ok(seen);
});

test('with @cert-authority lines for the host, certificate algorithms are asked for first (ssh order_hostkeyalgs)', () => {
  const lists = defaultAlgorithmLists({ hostKey: ['ssh-ed25519', 'rsa-sha2-512', 'ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com'] });
  const hostKeys = (lines: string[]) => hostKeyPolicy({ knownHosts: knownHosts(...lines) }, 'h.example', 22).preferKnownKeyTypes(lists).hostKey;
  const ca22 = formatKnownHostLine('h.example', 22, ca.publicBlob, { marker: 'cert-authority' });
  assert.deepEqual(hostKeys([ca22]), ['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'ssh-ed25519', 'rsa-sha2-512']);
  const rsaKnown = formatKnownHostLine('h.example', 22, generateHostKey('ssh-rsa', 2048).publicBlob);
  assert.deepEqual(hostKeys([rsaKnown]), ['rsa-sha2-512', 'rsa-sha2-512-cert-v01@openssh.com', 'ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
  assert.deepEqual(hostKeys([formatKnownHostLine('other.example', 22, ca.publicBlob, { marker: 'cert-authority' })]), lists.hostKey);
});

test('createServer refuses host certificates it could not present', () => {
  const key = testHostKey();
  const cert = hostCert();
  assert.throws(() => createServer({ hostKeys: [generateHostKey('ssh-ed25519')], hostCertificates: [cert] }), /certifies none of the host keys/);
  assert.throws(() => createServer({ hostKeys: [key], hostCertificates: [cert, hostCert({ keyId: 'second' })] }), /more than one/);
  const user = signCertificate({ publicKey: key.publicBlob, kind: 'user', random: randomBytes, principals: ['u'] }, ca);
  assert.throws(() => createServer({ hostKeys: [key], hostCertificates: [user] }), (e: unknown) => e instanceof CertificateError && e.problem === 'wrong-type');
  assert.throws(() => createServer({ hostKeys: [key], hostCertificates: ['not a certificate'] }), CertificateError);
  // its -cert.pub line is accepted
  createServer({ hostKeys: [key], hostCertificates: [formatCertificateLine(cert)] });
});

test('privateKeyFile: a <file>-cert.pub next to the key is offered first, then the key; bad certificates are KeyFileErrors naming the file', () => {
  const d = tempDir();
  const pair = generateKeyPairSync('ed25519');
  const user = signerFromKeyObject(pair.privateKey);
  const path = join(d, 'id_ed25519');
  writeFileSync(path, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  assert.deepEqual(loadIdentities({ privateKeyFile: path }).map((s) => s.keyType), ['ssh-ed25519']);
  const cert = signCertificate({ publicKey: user.publicBlob, kind: 'user', random: randomBytes, principals: ['alice'] }, ca);
  writeFileSync(`${path}-cert.pub`, formatCertificateLine(cert, 'alice@cert') + '\n');
  const signers = loadIdentities({ privateKeyFile: [path] });
  assert.deepEqual(signers.map((s) => s.keyType), ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519']);
  assert.ok(Buffer.from(signers[0]!.publicBlob).equals(cert.blob));
  // { key, certificate } in privateKey: the same two, before the files
  const both = loadIdentities({ privateKey: { key: user, certificate: cert.blob }, privateKeyFile: path });
  assert.deepEqual(both.map((s) => s.keyType), ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519']);
  // a certificate for another key, a host certificate, a broken file
  const other = signCertificate({ publicKey: generateHostKey('ssh-ed25519').publicBlob, kind: 'user', random: randomBytes, principals: ['a'] }, ca);
  const hostOne = signCertificate({ publicKey: user.publicBlob, kind: 'host', random: randomBytes, principals: ['h'] }, ca);
  for (const bad of [formatCertificateLine(other), formatCertificateLine(hostOne), 'ssh-ed25519-cert-v01@openssh.com AAAA', formatOpenSshPublicKeyLine(user.publicBlob)]) {
    writeFileSync(`${path}-cert.pub`, bad);
    assert.throws(() => loadIdentities({ privateKeyFile: path }), (e: unknown) => e instanceof KeyFileError && e.path === `${path}-cert.pub`, bad.slice(0, 40));
    assert.throws(() => loadIdentities({ privateKey: { key: user, certificate: bad } }), KeyFileError);
  }
  assert.throws(() => loadIdentities({ privateKeyFile: join(d, 'missing') }), KeyFileError);
  assert.throws(() => loadIdentities({ privateKeyFile: [42 as never] }), KeyFileError);
});

test('caSignatureAlgorithms (CASignatureAlgorithms): a certificate whose CA signed otherwise does not vouch for the key, which is checked as a plain key', async () => {
  const t = await certServer();
  // ssh-ed25519 is in the default list: trusted.
  assert.equal((await hostKeyOf(t, knownHosts(caLine(t.port)), { caSignatureAlgorithms: ['ssh-ed25519', 'rsa-sha2-512'] })).certificate?.trusted, true);
  // Narrowed to RSA: the Ed25519 CA's signature is not accepted; only the CA is known, so the key is refused.
  await assert.rejects(hostKeyOf(t, knownHosts(caLine(t.port)), { caSignatureAlgorithms: ['rsa-sha2-512'] }), (e: unknown) => e instanceof HostKeyRejectedError && /the CA signed with ssh-ed25519, which is not accepted/.test(e.message));
  // ... and with the plain key listed too, the connection goes on by that line.
  const plain = formatKnownHostLine('127.0.0.1', t.port, testHostKey().publicBlob);
  const info = await hostKeyOf(t, knownHosts(caLine(t.port), plain), { caSignatureAlgorithms: ['rsa-sha2-512'] });
  assert.equal(info.knownHosts, 'match');
  assert.equal(info.knownHostsEntry?.line, 3);
  assert.equal(info.certificate?.trusted, false);
  assert.throws(() => hostKeyPolicy({ knownHosts: false, caSignatureAlgorithms: 'ssh-ed25519' as unknown as string[] }, 'h', 22), RangeError);
});
