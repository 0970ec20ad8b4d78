// OpenSSH certificates in memory: signing, parsing, every verification
// outcome at a fake time, tampering, and a fuzz run over the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateHostKey, type HostKeyType, type KeySigner } from '../../src/keys/index.js';
import {
  CertificateError,
  DEFAULT_USER_EXTENSIONS,
  VALID_FOREVER,
  certificateOptionValue,
  certificateSignatureAlgorithms,
  formatCertificateLine,
  parseCertificate,
  parseCertificateLine,
  plainSignatureAlgorithm,
  signCertificate,
  type CertificateProblem,
  type CertificateRequest,
  type OpenSshCertificate,
} from '../../src/keys/certificate.js';
import { verifyCertificate, type CertificateCheck } from '../../src/keys/certificate-verify.js';
import { addressInCidrList, parseCidrList } from '../../src/keys/address-match.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { Writer } from '../../src/wire/writer.js';

const TYPES: HostKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];
const keys = Object.fromEntries(TYPES.map((t) => [t, generateHostKey(t, t === 'ssh-rsa' ? 2048 : undefined)])) as Record<HostKeyType, KeySigner>;
const ca = keys['ssh-ed25519'];
const otherCa = generateHostKey('ssh-ed25519');
const user = keys['ecdsa-sha2-nistp256'];

// 2030-01-01T00:00:00Z, in seconds
const T0 = 1_893_456_000n;
const clock = new FakeClock(Number(T0) * 1000);

function request(over: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    publicKey: user.publicBlob,
    kind: 'user',
    random: seededRandom('cert'),
    serial: 7n,
    keyId: 'alice@example',
    principals: ['alice', 'bob'],
    validAfter: T0 - 60n,
    validBefore: T0 + 3600n,
    ...over,
  };
}

function check(over: Partial<CertificateCheck> = {}): CertificateCheck {
  return { kind: 'user', trustedCa: [ca.publicBlob], now: clock.now, principal: 'alice', ...over };
}

function problemOf(run: () => unknown): CertificateProblem {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof CertificateError, `expected CertificateError, got ${String(err)}`);
    return err.problem;
  }
  assert.fail('expected a CertificateError');
}

test('every key type certified by every CA type parses back to the fields signed', () => {
  for (const subject of TYPES) {
    for (const caType of TYPES) {
      const cert = signCertificate(request({ publicKey: keys[subject].publicBlob }), keys[caType]);
      assert.equal(cert.keyType, subject);
      assert.equal(cert.certType, subject === 'ssh-rsa' ? 'ssh-rsa-cert-v01@openssh.com' : `${subject}-cert-v01@openssh.com`);
      assert.deepEqual(cert.publicKey, keys[subject].publicBlob);
      assert.deepEqual(cert.signatureKey, keys[caType].publicBlob);
      assert.equal(cert.signatureAlgorithm, caType === 'ssh-rsa' ? 'rsa-sha2-512' : caType);
      assert.equal(cert.serial, 7n);
      assert.equal(cert.keyId, 'alice@example');
      assert.deepEqual(cert.principals, ['alice', 'bob']);
      assert.equal(cert.nonce.length, 32);
      assert.deepEqual(parseCertificate(cert.blob), cert);
      const ok = verifyCertificate(cert.blob, check({ trustedCa: [keys[caType].publicBlob] }));
      assert.equal(ok.permitPty, true);
    }
  }
});

test('user certificates get ssh-keygen\'s default extensions, sorted; host ones none', () => {
  const cert = signCertificate(request(), ca);
  assert.deepEqual(
    cert.extensions.map((e) => e.name),
    Object.keys(DEFAULT_USER_EXTENSIONS).sort(),
  );
  assert.ok(cert.extensions.every((e) => e.data.length === 0));
  const host = signCertificate(request({ kind: 'host', principals: ['h.example'] }), ca);
  assert.equal(host.kind, 'host');
  assert.deepEqual(host.extensions, []);
  assert.throws(() => signCertificate(request({ kind: 'host', criticalOptions: { 'force-command': 'x' } }), ca), RangeError);
});

test('critical options are sorted and string-wrapped; flags are empty', () => {
  const cert = signCertificate(request({ criticalOptions: { 'source-address': '10.0.0.0/8', 'force-command': 'uptime', 'verify-required': true } }), ca);
  assert.deepEqual(cert.criticalOptions.map((o) => o.name), ['force-command', 'source-address', 'verify-required']);
  assert.equal(certificateOptionValue(cert.criticalOptions[0]!), 'uptime');
  assert.deepEqual(cert.criticalOptions[0]!.data, new Writer().string('uptime').finish());
  assert.equal(cert.criticalOptions[2]!.data.length, 0);
  assert.equal(certificateOptionValue(cert.criticalOptions[2]!), null);
  const auth = verifyCertificate(cert, check({ sourceAddress: '10.1.2.3' }));
  assert.equal(auth.forceCommand, 'uptime');
  assert.equal(auth.sourceAddresses, '10.0.0.0/8');
  assert.equal(auth.verifyRequired, true);
});

test('RSA CAs sign with the algorithm asked for; ssh-rsa (SHA-1) is refused unless accepted', () => {
  const rsa = keys['ssh-rsa'];
  const sha256 = signCertificate(request({ signatureAlgorithm: 'rsa-sha2-256' }), rsa);
  assert.equal(sha256.signatureAlgorithm, 'rsa-sha2-256');
  verifyCertificate(sha256, check({ trustedCa: [rsa.publicBlob] }));
  const sha1 = signCertificate(request({ signatureAlgorithm: 'ssh-rsa' }), rsa);
  assert.equal(problemOf(() => verifyCertificate(sha1, check({ trustedCa: [rsa.publicBlob] }))), 'disallowed-signature-algorithm');
  verifyCertificate(sha1, check({ trustedCa: [rsa.publicBlob], caSignatureAlgorithms: ['ssh-rsa'] }));
  assert.throws(() => signCertificate(request({ signatureAlgorithm: 'rsa-sha2-256' }), ca), RangeError);
});

test('each refusal has its own problem code', () => {
  const cert = signCertificate(request(), ca);
  // fields edited in a parsed copy count for nothing: the blob is what was signed
  assert.equal(problemOf(() => verifyCertificate({ ...cert, principals: ['mallory'] }, check({ principal: 'mallory' }))), 'wrong-principal');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ trustedCa: [otherCa.publicBlob] }))), 'untrusted-ca');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ trustedCa: () => false }))), 'untrusted-ca');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ kind: 'host' }))), 'wrong-type');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ principal: 'mallory' }))), 'wrong-principal');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ principal: 'ALICE' }))), 'wrong-principal');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ principal: 'al*' }))), 'wrong-principal');
  const none = signCertificate(request({ principals: [] }), ca);
  assert.equal(problemOf(() => verifyCertificate(none, check())), 'no-principals');
  assert.equal(problemOf(() => verifyCertificate(none, check({ principal: undefined }))), 'no-principals');
  const odd = signCertificate(request({ criticalOptions: { 'no-such-option': true } }), ca);
  assert.equal(problemOf(() => verifyCertificate(odd, check())), 'unknown-critical-option');
  const ext = signCertificate(request({ extensions: { 'custom@example.com': 'value', 'permit-pty': true } }), ca);
  const auth = verifyCertificate(ext, check());
  assert.equal(auth.permitPty, true);
  assert.equal(auth.permitAgentForwarding, false);
});

test('the validity window: valid after inclusive, valid before exclusive, no skew by default', () => {
  const cert = signCertificate(request({ validAfter: T0, validBefore: T0 + 100n }), ca);
  const at = (s: bigint, skew?: number) => () => verifyCertificate(cert, check({ now: Number(s) * 1000, clockSkewSeconds: skew }));
  assert.equal(problemOf(at(T0 - 1n)), 'not-yet-valid');
  at(T0)();
  at(T0 + 99n)();
  assert.equal(problemOf(at(T0 + 100n)), 'expired');
  at(T0 - 30n, 30)();
  assert.equal(problemOf(at(T0 - 31n, 30)), 'not-yet-valid');
  at(T0 + 100n + 29n, 30)();
  // a fractional millisecond time rounds down to its second
  verifyCertificate(cert, check({ now: Number(T0) * 1000 + 999.5 }));
  const forever = signCertificate(request({ validAfter: 0n, validBefore: VALID_FOREVER }), ca);
  verifyCertificate(forever, check({ now: 0 }));
  verifyCertificate(forever, check({ now: 8.64e15 }));
  assert.throws(() => verifyCertificate(cert, check({ clockSkewSeconds: -1 })), RangeError);
  assert.throws(() => signCertificate(request({ validAfter: 10n, validBefore: 10n }), ca), RangeError);
  assert.throws(() => signCertificate(request({ serial: -1n }), ca), RangeError);
});

test('host certificates match host names against principal wildcards and take no critical option', () => {
  const host = signCertificate(request({ kind: 'host', principals: ['*.example.com', 'db?.internal'] }), ca);
  const hostCheck = (name: string) => check({ kind: 'host', principal: name });
  verifyCertificate(host, hostCheck('www.example.com'));
  verifyCertificate(host, hostCheck('db1.internal'));
  assert.equal(problemOf(() => verifyCertificate(host, hostCheck('example.com'))), 'wrong-principal');
  assert.equal(problemOf(() => verifyCertificate(host, hostCheck('db12.internal'))), 'wrong-principal');
  // a host certificate carrying a critical option, made by hand since signCertificate refuses
  const withOption = signCertificate(request({ kind: 'user', principals: ['h'], criticalOptions: { 'verify-required': true } }), ca);
  const asHost = resign(withOption, (b) => setUint32At(b, typeOffset(withOption), 2));
  assert.equal(problemOf(() => verifyCertificate(asHost, check({ kind: 'host', principal: 'h' }))), 'unknown-critical-option');
});

test('source-address: inside, outside, IPv6, IPv4-mapped, missing, and a malformed list', () => {
  const cert = signCertificate(request({ criticalOptions: { 'source-address': '192.0.2.0/24,2001:db8::/32' } }), ca);
  verifyCertificate(cert, check({ sourceAddress: '192.0.2.200' }));
  verifyCertificate(cert, check({ sourceAddress: '2001:db8:1::5' }));
  verifyCertificate(cert, check({ sourceAddress: '::ffff:192.0.2.9' }));
  assert.equal(problemOf(() => verifyCertificate(cert, check({ sourceAddress: '192.0.3.1' }))), 'source-address');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ sourceAddress: '2001:db9::1' }))), 'source-address');
  assert.equal(problemOf(() => verifyCertificate(cert, check({ sourceAddress: 'not an address' }))), 'source-address');
  assert.equal(problemOf(() => verifyCertificate(cert, check())), 'source-address');
  const bad = signCertificate(request({ criticalOptions: { 'source-address': '10.1.2.3/8' } }), ca);
  assert.equal(problemOf(() => verifyCertificate(bad, check({ sourceAddress: '10.1.2.3' }))), 'malformed');
});

test('CIDR lists follow OpenSSH: bare addresses, prefixes with zero host bits, no wildcards or blanks', () => {
  assert.equal(addressInCidrList('127.0.0.1', '127.0.0.1'), true);
  assert.equal(addressInCidrList('127.0.0.2', '127.0.0.1'), false);
  assert.equal(addressInCidrList('::1', '::1'), true);
  assert.equal(addressInCidrList('10.9.9.9', '0.0.0.0/0'), true);
  assert.equal(addressInCidrList('fe80::1', '::/0'), true);
  assert.equal(addressInCidrList('10.0.0.1', '::/0'), false);
  assert.equal(addressInCidrList('1:2:3:4:5:6:7:8', '1:2:3:4::/64'), true);
  assert.equal(addressInCidrList('::ffff:10.0.0.1', '::ffff:10.0.0.0/104'), false, 'mapped addresses compare as IPv4');
  for (const bad of ['', '10.0.0.*', '10.0.0.0/33', '10.0.0.1/8', '10.0.0.0/8, 10.0.0.0/8', '1::2::3', '::/129', '01.2.3.4', '1.2.3', 'x']) {
    assert.equal(parseCidrList(bad), null, bad);
  }
});

test('duplicated critical options and flags with data are malformed when verified', () => {
  const twice = hand({ critical: [['force-command', 'a'], ['force-command', 'b']] });
  assert.equal(problemOf(() => verifyCertificate(twice, check())), 'malformed');
  const flagData = hand({ extensions: [['permit-pty', 'x']] });
  assert.equal(problemOf(() => verifyCertificate(flagData, check())), 'malformed');
  const forceFlag = hand({ critical: [['force-command', true]] });
  assert.equal(problemOf(() => verifyCertificate(forceFlag, check())), 'malformed');
  // order is not enforced when reading, as OpenSSH does not
  const unsorted = hand({ extensions: [['permit-pty', true], ['permit-X11-forwarding', true]] });
  assert.equal(verifyCertificate(unsorted, check()).permitX11Forwarding, true);
});

test('.pub lines: round trip, comment kept, plain keys and garbage refused', () => {
  const cert = signCertificate(request(), ca);
  const line = formatCertificateLine(cert, 'alice laptop');
  assert.match(line, /^ecdsa-sha2-nistp256-cert-v01@openssh\.com AAAA\S+ alice laptop$/);
  const back = parseCertificateLine(line + '\n');
  assert.deepEqual(back.certificate.blob, cert.blob);
  assert.equal(back.comment, 'alice laptop');
  const plain = `ecdsa-sha2-nistp256 ${Buffer.from(user.publicBlob).toString('base64')}`;
  assert.equal(problemOf(() => parseCertificateLine(plain)), 'unsupported');
  assert.equal(problemOf(() => parseCertificateLine('ssh-ed25519-cert-v01@openssh.com !!!')), 'malformed');
  assert.equal(problemOf(() => parseCertificateLine('')), 'malformed');
});

test('signature algorithm names for certificates', () => {
  assert.deepEqual(certificateSignatureAlgorithms('ssh-rsa-cert-v01@openssh.com'), [
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
    'ssh-rsa-cert-v01@openssh.com',
  ]);
  assert.deepEqual(certificateSignatureAlgorithms('ssh-ed25519-cert-v01@openssh.com'), ['ssh-ed25519-cert-v01@openssh.com']);
  assert.deepEqual(certificateSignatureAlgorithms('ssh-ed25519'), []);
  assert.equal(plainSignatureAlgorithm('rsa-sha2-256-cert-v01@openssh.com'), 'rsa-sha2-256');
  assert.equal(plainSignatureAlgorithm('ssh-rsa-cert-v01@openssh.com'), 'ssh-rsa');
  assert.equal(plainSignatureAlgorithm('ecdsa-sha2-nistp384-cert-v01@openssh.com'), 'ecdsa-sha2-nistp384');
  assert.equal(plainSignatureAlgorithm('nope'), null);
});

test('security-key certificates parse (their subject key carries an application)', () => {
  const skKey = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(32).fill(5)).string('ssh:').finish();
  const cert = signCertificate(request({ publicKey: skKey }), ca);
  assert.equal(cert.certType, 'sk-ssh-ed25519-cert-v01@openssh.com');
  assert.deepEqual(cert.publicKey, skKey);
  verifyCertificate(cert, check());
  const point = new Uint8Array(65).fill(1);
  point[0] = 4;
  const skEcdsa = new Writer().string('sk-ecdsa-sha2-nistp256@openssh.com').string('nistp256').string(point).string('ssh:').finish();
  assert.equal(signCertificate(request({ publicKey: skEcdsa }), ca).keyType, 'sk-ecdsa-sha2-nistp256@openssh.com');
  const shortKey = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(31)).string('ssh:').finish();
  assert.equal(problemOf(() => signCertificate(request({ publicKey: shortKey }), ca)), 'malformed');
});

// ------------------------------------------------------------------ tampering

/** Byte offset of the `uint32 type` field (after type, nonce, key fields and serial). */
function typeOffset(cert: OpenSshCertificate): number {
  const typeName = 4 + cert.certType.length;
  const keyFields = cert.publicKey.length - (4 + cert.keyType.length);
  return typeName + 4 + cert.nonce.length + keyFields + 8;
}

function setUint32At(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(at, v);
}

/** A copy of `cert` with its signed part edited, signed again by `ca`. */
function resign(cert: OpenSshCertificate, edit: (signed: Uint8Array) => void): Uint8Array {
  const signed = cert.signedData.slice();
  edit(signed);
  return new Writer().raw(signed).string(ca.sign('ssh-ed25519', signed)).finish().slice();
}

type HandOption = [string, string | true];
/** A certificate whose option sections are written as given (order, duplicates and all). */
function hand(o: { critical?: HandOption[]; extensions?: HandOption[] }): Uint8Array {
  const section = (opts: HandOption[]) => {
    const w = new Writer();
    for (const [n, v] of opts) w.string(n).string(v === true ? new Uint8Array(0) : v === 'x' ? new Uint8Array([1]) : new Writer().string(v).finish());
    return w.finish();
  };
  const principals = new Writer().string('alice').finish();
  const signed = new Writer()
    .string('ssh-ed25519-cert-v01@openssh.com')
    .string(new Uint8Array(32))
    .raw(ca.publicBlob.subarray(4 + 'ssh-ed25519'.length))
    .uint64(1n)
    .uint32(1)
    .string('id')
    .string(principals)
    .uint64(0n)
    .uint64(VALID_FOREVER)
    .string(section(o.critical ?? []))
    .string(section(o.extensions ?? []))
    .string(new Uint8Array(0))
    .string(ca.publicBlob)
    .finish()
    .slice();
  return new Writer().raw(signed).string(ca.sign('ssh-ed25519', signed)).finish().slice();
}

test('flipping any bit of the signed part or the signature makes the certificate fail', () => {
  for (const caType of ['ssh-ed25519', 'ecdsa-sha2-nistp384', 'ssh-rsa'] as const) {
    const cert = signCertificate(request({ principals: ['alice'] }), keys[caType]);
    const trusted = [keys[caType].publicBlob];
    let accepted = 0;
    // one bit in every byte (stepping through the bit positions), so every field is hit
    for (let i = 0; i < cert.blob.length; i++) {
      const b = cert.blob.slice();
      b[i]! ^= 1 << i % 8;
      try {
        verifyCertificate(b, check({ trustedCa: trusted }));
        accepted++;
      } catch (err) {
        assert.ok(err instanceof CertificateError, String(err));
      }
    }
    assert.equal(accepted, 0, `${caType}: a tampered certificate was accepted`);
  }
});

test('each field changed after signing is a bad signature', () => {
  const cert = signCertificate(request({ criticalOptions: { 'force-command': 'ls' } }), ca);
  const at = typeOffset(cert);
  const edits: [string, (b: Uint8Array) => void][] = [
    ['nonce', (b) => (b[4 + cert.certType.length + 4]! ^= 1)],
    ['key', (b) => (b[at - 9]! ^= 1)],
    ['serial', (b) => (b[at - 1]! ^= 1)],
    ['key id', (b) => (b[at + 8]! ^= 1)],
  ];
  for (const [what, edit] of edits) {
    const b = cert.blob.slice();
    edit(b);
    assert.equal(problemOf(() => verifyCertificate(b, check())), 'bad-signature', what);
  }
  // principal "alice" -> "alicf", validity and options changed in place
  for (const [needle, replacement] of [['alice', 'alicf'], ['ls', 'sh'], ['permit-pty', 'permit-ptz']] as const) {
    const b = Buffer.from(cert.blob);
    const i = b.indexOf(needle);
    assert.ok(i > 0);
    b.write(replacement, i);
    assert.equal(problemOf(() => verifyCertificate(new Uint8Array(b), check({ principal: 'alicf' }))), 'bad-signature', needle);
  }
});

// ------------------------------------------------------------------ fuzzing

test('fuzz: random, truncated and bit-flipped blobs give only CertificateError', () => {
  const rnd = seededRandom('cert-fuzz');
  const seeds = [
    signCertificate(request(), ca).blob,
    signCertificate(request({ publicKey: keys['ssh-rsa'].publicBlob, criticalOptions: { 'source-address': '::1' } }), keys['ssh-rsa']).blob,
    signCertificate(request({ kind: 'host', principals: ['h'] }), keys['ecdsa-sha2-nistp521']).blob,
  ];
  let cases = 0;
  const attempt = (b: Uint8Array) => {
    cases++;
    try {
      const c = parseCertificate(b);
      verifyCertificate(c, check({ trustedCa: () => true, principal: undefined, sourceAddress: '::1' }));
    } catch (err) {
      if (!(err instanceof CertificateError)) throw new Error(`non-CertificateError out of the parser: ${String(err)}`, { cause: err });
    }
  };
  for (const seed of seeds) {
    for (let n = 0; n < seed.length; n += 3) attempt(seed.subarray(0, n));
    for (let i = 0; i < 1500; i++) {
      const b = seed.slice();
      const flips = 1 + (rnd(1)[0]! % 4);
      for (let k = 0; k < flips; k++) {
        const r = rnd(3);
        b[((r[0]! << 8) | r[1]!) % b.length]! ^= 1 << (r[2]! % 8);
      }
      attempt(b);
    }
  }
  for (let i = 0; i < 2000; i++) {
    const len = rnd(1)[0]! * 2;
    const b = rnd(len);
    // half of them start like a certificate, so the fuzzing gets past the type name
    if (i % 2 === 0 && len > 40) b.set(seeds[0]!.subarray(0, 40));
    attempt(b);
  }
  assert.ok(cases > 5000, `${cases} cases`);
});
