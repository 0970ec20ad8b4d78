// Host certificates in the key exchange: the signer a server presents one with,
// the `*-cert-v01@openssh.com` host key algorithms, a full exchange carrying a
// certificate as K_S, and certificates the client cannot read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allHostKeyAlgorithms, findHostKeyAlgorithm, hostCertificateAlgorithms, isHostCertificateAlgorithm } from '../../src/algorithms/hostkey.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import { generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { signCertificate, CertificateError, type OpenSshCertificate } from '../../src/keys/certificate.js';
import { hostCertificateSigner, verifyCertifiedKeySignature } from '../../src/keys/host-certificate.js';
import { Reader } from '../../src/wire/reader.js';
import { utf8 } from '../../src/wire/bytes.js';
import { seededRandom } from '../../src/testing/random.js';
import { HostKeyRejectedError, ProtocolError } from '../../src/errors.js';
import type { Signer } from '../../src/algorithms/types.js';
import { makePair } from './transport-helpers.js';

const random = seededRandom('host-cert');
const ca = generateHostKey('ssh-ed25519');
const ed = generateHostKey('ssh-ed25519');
const rsa = generateHostKey('ssh-rsa', 2048);
const p256 = generateHostKey('ecdsa-sha2-nistp256');
const data = utf8('exchange hash stand-in');

function hostCert(key: KeySigner, kind: 'host' | 'user' = 'host'): OpenSshCertificate {
  return signCertificate({ publicKey: key.publicBlob, kind, random, keyId: 'h', principals: ['example.com'] }, ca);
}

test('the certificate algorithms come first in the default list, as in OpenSSH; the registry of plain ones is unchanged', () => {
  const names = hostCertificateAlgorithms.map((a) => a.name);
  assert.deepEqual(names, [
    'ssh-ed25519-cert-v01@openssh.com',
    'ecdsa-sha2-nistp256-cert-v01@openssh.com',
    'ecdsa-sha2-nistp384-cert-v01@openssh.com',
    'ecdsa-sha2-nistp521-cert-v01@openssh.com',
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
    'ssh-rsa-cert-v01@openssh.com',
  ]);
  assert.deepEqual(defaultAlgorithmLists().hostKey.slice(0, 6), names.slice(0, 6));
  assert.ok(!defaultAlgorithmLists().hostKey.includes('ssh-rsa-cert-v01@openssh.com'), 'SHA-1 only when named');
  assert.equal(findHostKeyAlgorithm('rsa-sha2-256-cert-v01@openssh.com')?.keyType, 'ssh-rsa-cert-v01@openssh.com');
  assert.ok(isHostCertificateAlgorithm('ssh-ed25519-cert-v01@openssh.com') && !isHostCertificateAlgorithm('ssh-ed25519'));
  assert.equal(allHostKeyAlgorithms.length, 14);
});

test('hostCertificateSigner: K_S is the certificate, the signature is the plain key’s under the plain name', () => {
  for (const [key, alg, plain] of [
    [ed, 'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519'],
    [p256, 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256'],
    [rsa, 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-512'],
    [rsa, 'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-256'],
  ] as const) {
    const cert = hostCert(key);
    const signer = hostCertificateSigner(key, cert.blob);
    assert.equal(signer.keyType, cert.certType);
    assert.deepEqual(signer.publicBlob, cert.blob);
    const sig = signer.sign(alg, data);
    assert.equal(new Reader(sig).text(), plain);
    const entry = findHostKeyAlgorithm(alg)!;
    entry.checkKey(cert.blob);
    assert.equal(entry.verify(cert.blob, data, sig), true, alg);
    assert.equal(entry.verify(cert.blob, utf8('other'), sig), false);
    // the plain key's own entry does not take a certificate blob
    assert.equal(findHostKeyAlgorithm(plain)!.verify(cert.blob, data, sig), false);
  }
  const edCert = hostCertificateSigner(ed, hostCert(ed));
  assert.throws(() => edCert.sign('ssh-ed25519', data), RangeError);
  assert.throws(() => edCert.sign('rsa-sha2-512-cert-v01@openssh.com', data), RangeError);
  // RSA: the SHA-2 signature under one name does not pass for the other
  const rsaCert = hostCert(rsa);
  const sig256 = hostCertificateSigner(rsa, rsaCert).sign('rsa-sha2-256-cert-v01@openssh.com', data);
  assert.equal(verifyCertifiedKeySignature(rsaCert.blob, 'rsa-sha2-512-cert-v01@openssh.com', data, sig256), false);
  // another key's signature does not verify for the certificate
  assert.equal(verifyCertifiedKeySignature(hostCert(ed).blob, 'ssh-ed25519-cert-v01@openssh.com', data, generateHostKey('ssh-ed25519').sign('ssh-ed25519', data)), false);
});

test('hostCertificateSigner refuses a user certificate and a certificate of another key', () => {
  assert.throws(() => hostCertificateSigner(ed, hostCert(ed, 'user')), (e: unknown) => e instanceof CertificateError && e.problem === 'wrong-type');
  assert.throws(() => hostCertificateSigner(ed, hostCert(p256)), (e: unknown) => e instanceof CertificateError && e.problem === 'malformed');
  assert.throws(() => hostCertificateSigner(ed, new Uint8Array([0, 0, 0, 1, 0x41])), CertificateError);
});

test('a certificate checkKey: the type must fit the algorithm and the certified key its limits', () => {
  const edEntry = findHostKeyAlgorithm('ssh-ed25519-cert-v01@openssh.com')!;
  assert.throws(() => edEntry.checkKey(hostCert(p256).blob), ProtocolError);
  assert.throws(() => edEntry.checkKey(ed.publicBlob), CertificateError);
  assert.throws(() => findHostKeyAlgorithm('rsa-sha2-512-cert-v01@openssh.com')!.checkKey(hostCert(ed).blob), ProtocolError);
});

test('fuzz: certificate host key algorithms throw only ProtocolError from checkKey and never from verify', () => {
  const rnd = seededRandom('fuzz-host-cert');
  const base = [hostCert(ed).blob, hostCert(rsa).blob, hostCert(p256).blob];
  const sig = ed.sign('ssh-ed25519', data);
  let cases = 0;
  for (let i = 0; i < 3000; i++) {
    const src = base[i % base.length]!;
    let blob: Uint8Array;
    const mode = i % 3;
    if (mode === 0) blob = rnd(Number(rnd(1)[0]) * 4);
    else if (mode === 1) blob = src.subarray(0, (i * 7919) % src.length);
    else {
      blob = src.slice();
      const at = (i * 104729) % blob.length;
      blob[at]! ^= 1 << (i % 8);
    }
    for (const alg of hostCertificateAlgorithms) {
      try {
        alg.checkKey(blob);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `${alg.name}: ${String(e)}`);
      }
      assert.equal(typeof alg.verify(blob, data, sig), 'boolean');
      cases++;
    }
  }
  assert.ok(cases >= 20000);
});

test('a key exchange with a host certificate: K_S is the certificate and the client sees the certificate algorithm', () => {
  for (const [key, alg] of [
    [ed, 'ssh-ed25519-cert-v01@openssh.com'],
    [rsa, 'rsa-sha2-512-cert-v01@openssh.com'],
    [rsa, 'rsa-sha2-256-cert-v01@openssh.com'],
  ] as const) {
    const cert = hostCert(key);
    const { pair } = makePair({ hostKeys: [key, hostCertificateSigner(key, cert)], client: { hostKey: [alg] } });
    pair.pump();
    const ask = pair.client.events.find((e) => e.type === 'host-key');
    assert.ok(ask && ask.type === 'host-key', alg);
    assert.equal(ask.algorithm, alg);
    assert.deepEqual(ask.hostKey, cert.blob);
  }
  // a server without a certificate does not offer the algorithms
  const { pair } = makePair({ hostKeys: [ed], client: { hostKey: ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519'] } });
  pair.pump();
  const ask = pair.client.events.find((e) => e.type === 'host-key');
  assert.ok(ask && ask.type === 'host-key' && ask.algorithm === 'ssh-ed25519');
});

test('a server sending a malformed certificate as its host key: HostKeyRejectedError, before the application is asked', () => {
  const cert = hostCert(ed).blob;
  const broken = cert.slice(0, cert.length - 10);
  const hostile: Signer = { keyType: 'ssh-ed25519-cert-v01@openssh.com', publicBlob: broken, sign: (_alg, d) => ed.sign('ssh-ed25519', d) };
  const { pair } = makePair({ hostKeys: [hostile], client: { hostKey: ['ssh-ed25519-cert-v01@openssh.com'] } });
  pair.pump();
  const d = pair.client.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected', 'the client gave up');
  assert.ok(d.error instanceof HostKeyRejectedError, d.error.message);
  assert.match(d.error.message, /host certificate is not acceptable: malformed certificate/);
  assert.ok(!pair.client.events.some((e) => e.type === 'host-key'));
});

test('a re-exchange presents the same certificate and completes', () => {
  const cert = hostCert(ed);
  const { pair } = makePair({ hostKeys: [hostCertificateSigner(ed, cert)], client: { hostKey: ['ssh-ed25519-cert-v01@openssh.com'] } });
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 1);
  // as after login: the service is up and both sides authenticated
  pair.client.transport.requestService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.server.transport.acceptService(pair.clock.now, 'ssh-userauth');
  pair.pump();
  pair.client.transport.setAuthenticated();
  pair.server.transport.setAuthenticated();
  pair.client.transport.rekey(pair.clock.now);
  pair.pump();
  assert.equal(pair.client.events.filter((e) => e.type === 'keys-exchanged').length, 2);
  assert.ok(!pair.client.events.some((e) => e.type === 'disconnected'));
});
