// OpenSSH certificates against ssh-keygen: certificates it signs parse to the
// fields asked for and verify; certificates Nacre signs are read back by
// `ssh-keygen -L` (which checks the CA signature) with the same fields.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { fingerprintSha256, parseOpenSshPublicKeyLine, signerFromPrivateKeyFile, type KeySigner } from '../../src/keys/index.js';
import {
  CertificateError,
  certificateOptionValue,
  formatCertificateLine,
  parseCertificateLine,
  signCertificate,
  type CertificateRequest,
  type OpenSshCertificate,
} from '../../src/keys/certificate.js';
import { verifyCertificate, type CertificateCheck } from '../../src/keys/certificate-verify.js';
import { seededRandom } from '../../src/testing/random.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';

const TYPES = [
  ['ed25519', 'ed25519', undefined, 'ssh-ed25519'],
  ['p256', 'ecdsa', 256, 'ecdsa-sha2-nistp256'],
  ['p384', 'ecdsa', 384, 'ecdsa-sha2-nistp384'],
  ['p521', 'ecdsa', 521, 'ecdsa-sha2-nistp521'],
  ['rsa', 'rsa', 2048, 'ssh-rsa'],
] as const;
type Name = (typeof TYPES)[number][0];

let dir = '';
const pub: Record<string, Uint8Array> = {};
const signers: Record<string, KeySigner> = {};
// 2030-01-01T00:00:00Z to 2030-01-02T00:00:00Z; ssh-keygen reads -V in local time, so TZ=UTC
const AFTER = 1_893_456_000n;
const BEFORE = AFTER + 86_400n;
const NOON = Number(AFTER + 43_200n) * 1000;
const env = { ...process.env, TZ: 'UTC' };

function keygenRun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(openssh!.keygen, args, { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Has ssh-keygen certify key `subject` with CA `ca`; returns the parsed -cert.pub line. */
function opensshSign(subject: Name, ca: Name, extra: string[], tag: string): OpenSshCertificate {
  const base = join(dir, `${subject}_by_${ca}_${tag}`);
  copyFileSync(join(dir, `${subject}.pub`), `${base}.pub`);
  const r = keygenRun(['-q', '-s', join(dir, ca), '-I', `id-${subject}`, ...extra, `${base}.pub`]);
  assert.equal(r.status, 0, r.stderr);
  return parseCertificateLine(readFileSync(`${base}-cert.pub`, 'utf8')).certificate;
}

function userCheck(ca: Name, over: Partial<CertificateCheck> = {}): CertificateCheck {
  return { kind: 'user', trustedCa: [pub[ca]!], now: NOON, principal: 'alice', ...over };
}

before(() => {
  if (!openssh) return;
  dir = tempDir('certs');
  for (const [name, type, bits] of TYPES) {
    const k = keygen(openssh, dir, type, name, bits);
    pub[name] = parseOpenSshPublicKeyLine(k.publicLine).blob;
    signers[name] = signerFromPrivateKeyFile(readFileSync(k.privatePath));
  }
});

test('certificates signed by ssh-keygen parse to the fields asked for and verify, for every key and CA type', { skip }, () => {
  let serial = 1;
  for (const [subject, , , keyType] of TYPES) {
    for (const [ca, , , caType] of TYPES) {
      const cert = opensshSign(subject, ca, ['-n', 'alice,bob', '-V', '20300101:20300102', '-z', String(serial)], 'plain');
      assert.equal(cert.keyType, keyType);
      assert.deepEqual(cert.publicKey, pub[subject]);
      assert.deepEqual(cert.signatureKey, pub[ca]);
      assert.equal(cert.signatureAlgorithm, caType === 'ssh-rsa' ? 'rsa-sha2-512' : caType);
      assert.equal(cert.serial, BigInt(serial++));
      assert.equal(cert.kind, 'user');
      assert.equal(cert.keyId, `id-${subject}`);
      assert.deepEqual(cert.principals, ['alice', 'bob']);
      assert.equal(cert.validAfter, AFTER);
      assert.equal(cert.validBefore, BEFORE);
      assert.deepEqual(cert.criticalOptions, []);
      assert.deepEqual(
        cert.extensions.map((e) => e.name),
        ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'],
      );
      const auth = verifyCertificate(cert, userCheck(ca));
      assert.equal(auth.permitPty, true);
      assert.equal(auth.forceCommand, null);
    }
  }
});

test('ssh-keygen -O options, host certificates and refusals', { skip }, () => {
  const opts = opensshSign('ed25519', 'p256', [
    '-n', 'alice', '-V', '20300101:20300102',
    '-O', 'clear', '-O', 'permit-pty', '-O', 'no-touch-required', '-O', 'force-command=echo hi there',
    '-O', 'source-address=192.0.2.0/24,::1', '-O', 'verify-required', '-O', 'extension:custom@example.com=value',
  ], 'options');
  assert.deepEqual(opts.criticalOptions.map((o) => o.name), ['force-command', 'source-address', 'verify-required']);
  assert.equal(certificateOptionValue(opts.criticalOptions[0]!), 'echo hi there');
  assert.deepEqual(opts.extensions.map((o) => o.name), ['custom@example.com', 'no-touch-required', 'permit-pty']);
  const auth = verifyCertificate(opts, userCheck('p256', { sourceAddress: '192.0.2.7' }));
  assert.deepEqual(
    [auth.forceCommand, auth.sourceAddresses, auth.verifyRequired, auth.noTouchRequired, auth.permitPty, auth.permitPortForwarding],
    ['echo hi there', '192.0.2.0/24,::1', true, true, true, false],
  );
  const problem = (cert: OpenSshCertificate, check: CertificateCheck) =>
    assert.throws(() => verifyCertificate(cert, check), (e: unknown) => e instanceof CertificateError && e.problem === (check as { want?: string }).want);
  problem(opts, { ...userCheck('p256', { sourceAddress: '198.51.100.1' }), want: 'source-address' } as CertificateCheck);
  problem(opts, { ...userCheck('p256', { principal: 'bob', sourceAddress: '::1' }), want: 'wrong-principal' } as CertificateCheck);
  problem(opts, { ...userCheck('ed25519', { sourceAddress: '::1' }), want: 'untrusted-ca' } as CertificateCheck);
  problem(opts, { ...userCheck('p256', { sourceAddress: '::1', now: Number(BEFORE) * 1000 }), want: 'expired' } as CertificateCheck);
  problem(opts, { ...userCheck('p256', { sourceAddress: '::1', now: Number(AFTER - 1n) * 1000 }), want: 'not-yet-valid' } as CertificateCheck);

  const unknown = opensshSign('p384', 'ed25519', ['-n', 'alice', '-O', 'critical:frobnicate@example.com=1'], 'critical');
  problem(unknown, { ...userCheck('ed25519', { now: Date.now() }), want: 'unknown-critical-option' } as CertificateCheck);

  const host = opensshSign('rsa', 'ed25519', ['-h', '-n', 'host.example.com,*.example.org', '-V', 'always:forever'], 'host');
  assert.equal(host.kind, 'host');
  assert.deepEqual([host.validAfter, host.validBefore], [0n, 0xffff_ffff_ffff_ffffn]);
  assert.deepEqual(host.extensions, []);
  for (const name of ['host.example.com', 'a.example.org']) verifyCertificate(host, { kind: 'host', trustedCa: [pub.ed25519!], now: NOON, principal: name });
  problem(host, { kind: 'host', trustedCa: [pub.ed25519!], now: NOON, principal: 'example.org', want: 'wrong-principal' } as CertificateCheck);
  problem(host, { ...userCheck('ed25519'), want: 'wrong-type' } as CertificateCheck);

  const sha1 = opensshSign('ed25519', 'rsa', ['-n', 'alice', '-t', 'ssh-rsa'], 'sha1');
  assert.equal(sha1.signatureAlgorithm, 'ssh-rsa');
  problem(sha1, { ...userCheck('rsa', { now: Date.now() }), want: 'disallowed-signature-algorithm' } as CertificateCheck);
  verifyCertificate(sha1, userCheck('rsa', { now: Date.now(), caSignatureAlgorithms: ['ssh-rsa'] }));
  const sha256 = opensshSign('ed25519', 'rsa', ['-n', 'alice', '-t', 'rsa-sha2-256'], 'sha256');
  assert.equal(sha256.signatureAlgorithm, 'rsa-sha2-256');
  verifyCertificate(sha256, userCheck('rsa', { now: Date.now() }));
});

test('a bit flipped in an ssh-keygen certificate makes it fail to verify', { skip }, () => {
  const cert = opensshSign('p521', 'rsa', ['-n', 'alice', '-V', '20300101:20300102'], 'flip');
  for (let i = 0; i < cert.blob.length; i += 7) {
    const b = cert.blob.slice();
    b[i]! ^= 0x10;
    assert.throws(() => verifyCertificate(b, userCheck('rsa')), CertificateError, `byte ${i}`);
  }
});

/** The fields of `ssh-keygen -L` output, as lines without their indentation. */
function describe(cert: OpenSshCertificate, caType: string, caAlgorithm: string): string[] {
  const kindName = { 'ssh-ed25519': 'ED25519', 'ssh-rsa': 'RSA' } as Record<string, string>;
  const keyName = (t: string) => kindName[t] ?? 'ECDSA';
  const iso = (s: bigint) => new Date(Number(s) * 1000).toISOString().slice(0, 19);
  const options = (list: OpenSshCertificate['criticalOptions']) =>
    list.length === 0 ? ['(none)'] : ['', ...list.map((o) => (o.data.length ? `${o.name} ${certificateOptionValue(o)}` : o.name))];
  const [critFirst, ...critRest] = options(cert.criticalOptions);
  const [extFirst, ...extRest] = options(cert.extensions);
  return [
    `Type: ${cert.certType} ${cert.kind} certificate`,
    `Public key: ${keyName(cert.keyType)}-CERT ${fingerprintSha256(cert.publicKey)}`,
    `Signing CA: ${keyName(caType)} ${fingerprintSha256(cert.signatureKey)} (using ${caAlgorithm})`,
    `Key ID: "${cert.keyId}"`,
    `Serial: ${cert.serial}`,
    `Valid: from ${iso(cert.validAfter)} to ${iso(cert.validBefore)}`,
    `Principals:${cert.principals.length ? '' : ' (none)'}`,
    ...cert.principals,
    `Critical Options: ${critFirst}`.trimEnd(),
    ...critRest,
    `Extensions: ${extFirst}`.trimEnd(),
    ...extRest,
  ];
}

function keygenList(cert: OpenSshCertificate, name: string): { status: number | null; lines: string[]; stderr: string } {
  const path = join(dir, `${name}-cert.pub`);
  writeFileSync(path, formatCertificateLine(cert, name) + '\n');
  const r = keygenRun(['-L', '-f', path]);
  return { status: r.status, lines: r.stdout.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== ''), stderr: r.stderr };
}

test('certificates Nacre signs are read back by ssh-keygen -L with the same fields, for every key and CA type', { skip }, () => {
  let serial = 100n;
  for (const [subject] of TYPES) {
    for (const [ca, , , caType] of TYPES) {
      const request: CertificateRequest = {
        publicKey: pub[subject]!,
        kind: 'user',
        random: seededRandom(`${subject}-${ca}`),
        serial: serial++,
        keyId: `nacre ${subject} by ${ca}`,
        principals: ['alice', 'bob'],
        validAfter: AFTER,
        validBefore: BEFORE,
        criticalOptions: { 'force-command': 'uptime', 'source-address': '10.0.0.0/8' },
      };
      const cert = signCertificate(request, signers[ca]!);
      const out = keygenList(cert, `nacre_${subject}_${ca}`);
      assert.equal(out.status, 0, out.stderr);
      assert.deepEqual(out.lines, describe(cert, caType, caType === 'ssh-rsa' ? 'rsa-sha2-512' : caType));
    }
  }
  // a host certificate valid forever, and one with no extensions or principals
  const host = signCertificate({ publicKey: pub.p384!, kind: 'host', random: seededRandom('host'), principals: ['h.example'] }, signers.ed25519!);
  const hostOut = keygenList(host, 'nacre_host');
  assert.equal(hostOut.status, 0, hostOut.stderr);
  assert.ok(hostOut.lines.includes('Type: ecdsa-sha2-nistp384-cert-v01@openssh.com host certificate'), hostOut.lines.join('\n'));
  assert.ok(hostOut.lines.includes('Valid: forever'));
  const bare = signCertificate({ publicKey: pub.ed25519!, kind: 'user', random: seededRandom('bare'), extensions: {}, signatureAlgorithm: 'rsa-sha2-256' }, signers.rsa!);
  const bareOut = keygenList(bare, 'nacre_bare');
  assert.equal(bareOut.status, 0, bareOut.stderr);
  assert.ok(bareOut.lines.includes('Principals: (none)') && bareOut.lines.includes('Extensions: (none)'), bareOut.lines.join('\n'));
  assert.ok(bareOut.lines.some((l) => l.endsWith('(using rsa-sha2-256)')));
});

test('ssh-keygen -L refuses a Nacre certificate altered after signing', { skip }, () => {
  const cert = signCertificate(
    { publicKey: pub.ed25519!, kind: 'user', random: seededRandom('alter'), keyId: 'honest', principals: ['alice'] },
    signers.p256!,
  );
  const b = Buffer.from(cert.blob);
  b.write('hanest', b.indexOf('honest'));
  const altered = { ...cert, blob: new Uint8Array(b) };
  const out = keygenList(altered, 'nacre_altered');
  assert.notEqual(out.status, 0, 'ssh-keygen accepted an altered certificate');
});
