// SSHSIG with user certificates: allowed_signers cert-authority lines judged
// as ssh-keygen's sshkey_cert_check_authority (user certificate, validity at
// the verification time, principal listed, CA signature sound), and the
// verifier for signatures whose publickey field is a certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOpenSshPublicKeyLine, generateHostKey, signCertificate, signSshSignature, SshSignatureError, type AuthSigner } from '../../src/keys/index.js';
import { findSignerPrincipals, parseAllowedSigners, signerCertificates, sshSigCertificateVerifier, verifyAllowedSshSignature } from '../../src/trust/index.js';
import { seededRandom } from '../../src/testing/random.js';

const ca = generateHostKey('ssh-ed25519');
const otherCa = generateHostKey('ecdsa-sha2-nistp256');
const user = generateHostKey('ssh-ed25519');
const random = seededRandom('signer-certificates');
const T = (iso: string) => BigInt(Math.floor(new Date(iso).getTime() / 1000));

function cert(over: Partial<Parameters<typeof signCertificate>[0]> = {}, by = ca) {
  return signCertificate({ publicKey: user.publicBlob, kind: 'user', random, principals: ['alice', 'bob'], validAfter: T('2026-01-01'), validBefore: T('2027-01-01'), ...over }, by);
}
function certSigner(blob: Uint8Array): AuthSigner {
  return { keyType: 'ssh-ed25519-cert-v01@openssh.com', publicBlob: blob, sign: (alg, data) => user.sign(alg, data) };
}
const message = new TextEncoder().encode('signed text');
const allowed = parseAllowedSigners(`alice,carol cert-authority,namespaces="file" ${formatOpenSshPublicKeyLine(ca.publicBlob)}\n`).entries;
const when = new Date('2026-06-01T00:00:00Z');

test('a certificate by the listed CA verifies for a principal it and the line both name, in the namespace', async () => {
  const sig = await signSshSignature(certSigner(cert().blob), message, { namespace: 'file' });
  const r = verifyAllowedSshSignature(allowed, sig, message, { namespace: 'file', principal: 'alice', time: when, verifier: sshSigCertificateVerifier, certificates: signerCertificates });
  assert.equal(r.keyType, 'ssh-ed25519-cert-v01@openssh.com');
  assert.equal(r.signatureAlgorithm, 'ssh-ed25519');
  // find-principals: the line's patterns that the certificate names
  assert.deepEqual(findSignerPrincipals(allowed, sig.publicKey, { time: when, certificates: signerCertificates }), ['alice']);
  const refuse = (principal: string, namespace = 'file', time = when) =>
    assert.throws(
      () => verifyAllowedSshSignature(allowed, sig, message, { namespace, principal, time, verifier: sshSigCertificateVerifier, certificates: signerCertificates }),
      (e: unknown) => e instanceof SshSignatureError && e.problem === (namespace === 'file' ? 'signer-not-allowed' : 'namespace-mismatch'),
    );
  refuse('bob'); // the certificate names bob, the line does not
  refuse('carol'); // the line names carol, the certificate does not
  refuse('alice', 'git');
  refuse('alice', 'file', new Date('2025-12-31T00:00:00Z'));
  refuse('alice', 'file', new Date('2027-01-01T00:00:00Z'));
});

test('refusals as sshkey_cert_check_authority words them; another CA, a forged CA signature and a host certificate are not accepted', () => {
  assert.equal(signerCertificates.refusal(cert().blob, when, 'alice'), undefined);
  assert.equal(signerCertificates.refusal(cert().blob, when, 'zed'), 'Certificate invalid: name is not a listed principal');
  assert.equal(signerCertificates.refusal(cert({ principals: [] }).blob, when, undefined), 'Certificate lacks principal list');
  assert.equal(signerCertificates.refusal(cert({ kind: 'host' }).blob, when, 'alice'), 'Certificate invalid: not a user certificate');
  assert.equal(signerCertificates.refusal(cert().blob, new Date('2020-01-01'), 'alice'), 'Certificate invalid: not yet valid');
  assert.equal(signerCertificates.refusal(cert().blob, new Date('2030-01-01'), 'alice'), 'Certificate invalid: expired');
  assert.deepEqual(signerCertificates.signatureKey(cert({}, otherCa).blob), otherCa.publicBlob);
  assert.equal(signerCertificates.signatureKey(user.publicBlob), undefined);
  const forged = cert().blob.slice();
  forged[forged.length - 5]! ^= 1;
  assert.equal(signerCertificates.signatureKey(forged), undefined);
  assert.equal(signerCertificates.refusal(forged, when, 'alice'), 'not a valid certificate');
  assert.equal(sshSigCertificateVerifier(forged, 'ssh-ed25519', message, user.sign('ssh-ed25519', message)), false);
  assert.equal(sshSigCertificateVerifier(cert().blob, 'ssh-ed25519', message, user.sign('ssh-ed25519', message)), true);
  assert.equal(sshSigCertificateVerifier(user.publicBlob, 'ssh-ed25519', message, user.sign('ssh-ed25519', message)), true);
  assert.equal(sshSigCertificateVerifier(new Uint8Array([1, 2]), 'ssh-ed25519', message, new Uint8Array(0)), false);
});
