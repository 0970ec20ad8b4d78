// SSHSIG (PROTOCOL.sshsig): signing, verifying, the armor and the blob, and
// bad input of every kind. ssh-keygen's own output is checked in test/interop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  armorSshSignature,
  dearmorSshSignature,
  decodeSshSignature,
  encodeSshSignature,
  formatSshSignature,
  generateHostKey,
  parseSshSignature,
  signSshSignature,
  sshSigSignatureAlgorithm,
  sshSigSignedData,
  verifySshSignature,
  SshSignatureError,
  type AuthSigner,
  type HostKeyType,
  type SshSignature,
  type SshSignatureProblem,
} from '../../src/keys/index.js';
import { seededRandom } from '../../src/testing/random.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';

const enc = new TextEncoder();
const message = enc.encode('the quick brown fox\n');

function refused(problem: SshSignatureProblem): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof SshSignatureError, `expected SshSignatureError, got ${String(e)}`);
    assert.equal(e.problem, problem, e.message);
    return true;
  };
}

const TYPES: HostKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];
const signers = new Map(TYPES.map((t) => [t, generateHostKey(t, t === 'ssh-rsa' ? 2048 : undefined)]));
const ed25519 = signers.get('ssh-ed25519')!;

function sigAlgorithm(sig: SshSignature): string {
  return new Reader(sig.signature, 0, 'sig').text('alg');
}

for (const type of TYPES) {
  for (const hashAlgorithm of ['sha256', 'sha512'] as const) {
    test(`${type} with ${hashAlgorithm}: signs, armors, parses back and verifies`, async () => {
      const signer = signers.get(type)!;
      const sig = await signSshSignature(signer, message, { namespace: 'file', hashAlgorithm });
      const text = formatSshSignature(sig);
      const back = parseSshSignature(text);
      assert.deepEqual(back, sig);
      const ok = verifySshSignature(back, message, 'file');
      assert.equal(ok.keyType, type);
      assert.match(ok.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      if (type === 'ssh-rsa') assert.equal(ok.signatureAlgorithm, hashAlgorithm === 'sha512' ? 'rsa-sha2-512' : 'rsa-sha2-256');
      else assert.equal(ok.signatureAlgorithm, type);
    });
  }
}

test('sha512 is the default hash, and RSA then signs with rsa-sha2-512 as ssh-keygen does', async () => {
  const sig = await signSshSignature(signers.get('ssh-rsa')!, message, { namespace: 'git' });
  assert.equal(sig.hashAlgorithm, 'sha512');
  assert.equal(sigAlgorithm(sig), 'rsa-sha2-512');
  assert.equal(sshSigSignatureAlgorithm('ssh-rsa-cert-v01@openssh.com', 'sha256'), 'rsa-sha2-256');
  assert.equal(sshSigSignatureAlgorithm('ssh-ed25519-cert-v01@openssh.com', 'sha512'), 'ssh-ed25519');
});

test('the signed data is the preamble, namespace, empty reserved, hash name and H(message)', async () => {
  let seen: Uint8Array | undefined;
  const spy: AuthSigner = { keyType: ed25519.keyType, publicBlob: ed25519.publicBlob, sign: (alg, data) => ((seen = data), ed25519.sign(alg, data)) };
  await signSshSignature(spy, message, { namespace: 'file', hashAlgorithm: 'sha256' });
  const h = createHash('sha256').update(message).digest();
  const expected = new Writer().raw(enc.encode('SSHSIG')).string('file').string(new Uint8Array(0)).string('sha256').string(h).finish();
  assert.deepEqual(seen, expected);
  assert.deepEqual(sshSigSignedData('file', 'sha256', h), expected);
});

test('an async signer (an agent) works, and a digest can stand for the message', async () => {
  const agentLike: AuthSigner = { keyType: ed25519.keyType, publicBlob: ed25519.publicBlob, sign: async (alg, data) => ed25519.sign(alg, data) };
  const digest = new Uint8Array(createHash('sha512').update(message).digest());
  const sig = await signSshSignature(agentLike, { hashAlgorithm: 'sha512', digest }, { namespace: 'file' });
  verifySshSignature(sig, message, 'file');
  verifySshSignature(sig, { hashAlgorithm: 'sha512', digest }, 'file');
  assert.throws(() => verifySshSignature(sig, { hashAlgorithm: 'sha512', digest: digest.subarray(1) }, 'file'), RangeError);
  assert.throws(() => verifySshSignature(sig, { hashAlgorithm: 'sha256', digest: digest.subarray(32) }, 'file'), RangeError);
  const sha256 = new Uint8Array(createHash('sha256').update(message).digest());
  const by256 = await signSshSignature(ed25519, { hashAlgorithm: 'sha256', digest: sha256 }, { namespace: 'file' });
  assert.equal(by256.hashAlgorithm, 'sha256', "a digest's algorithm is the default");
  verifySshSignature(by256, message, 'file');
});

test('a wrong namespace, a changed message or another key is refused', async () => {
  const sig = await signSshSignature(ed25519, message, { namespace: 'file' });
  assert.throws(() => verifySshSignature(sig, message, 'git'), refused('namespace-mismatch'));
  assert.throws(() => verifySshSignature(sig, enc.encode('the quick brown fox!\n'), 'file'), refused('bad-signature'));
  const other = generateHostKey('ssh-ed25519');
  assert.throws(() => verifySshSignature({ ...sig, publicKey: other.publicBlob }, message, 'file'), refused('bad-signature'));
  // the namespace inside the blob cannot be swapped without breaking the signature
  assert.throws(() => verifySshSignature({ ...sig, namespace: 'git' }, message, 'git'), refused('bad-signature'));
  assert.throws(() => verifySshSignature({ ...sig, hashAlgorithm: 'sha256' }, message, 'file'), refused('bad-signature'));
});

test('RSA signatures with SHA-1 (ssh-rsa) are refused, as PROTOCOL.sshsig requires', async () => {
  const rsa = signers.get('ssh-rsa')!;
  const sig = await signSshSignature(rsa, message, { namespace: 'file' });
  const data = sshSigSignedData('file', 'sha512', new Uint8Array(createHash('sha512').update(message).digest()));
  const sha1 = { ...sig, signature: rsa.sign('ssh-rsa', data) };
  assert.throws(() => verifySshSignature(sha1, message, 'file'), refused('unsupported'));
});

test('security-key and certificate signers need a verifier hook; the hook decides', async () => {
  const skBlob = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(32)).string('ssh:').finish();
  const skSig = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(64)).byte(1).uint32(7).finish();
  const sig: SshSignature = { version: 1, publicKey: skBlob, namespace: 'file', reserved: new Uint8Array(0), hashAlgorithm: 'sha512', signature: skSig };
  assert.throws(() => verifySshSignature(sig, message, 'file'), refused('unsupported'));
  const calls: string[] = [];
  const ok = verifySshSignature(sig, message, 'file', { verifier: (_k, alg) => (calls.push(alg), true) });
  assert.equal(ok.keyType, 'sk-ssh-ed25519@openssh.com');
  assert.deepEqual(calls, ['sk-ssh-ed25519@openssh.com']);
  assert.throws(() => verifySshSignature(sig, message, 'file', { verifier: () => false }), refused('bad-signature'));
});

test('the armor is 70-column base64 between the header and footer lines, ending in a newline', async () => {
  const sig = await signSshSignature(signers.get('ssh-rsa')!, message, { namespace: 'file' });
  const text = formatSshSignature(sig);
  const lines = text.split('\n');
  assert.equal(lines[0], '-----BEGIN SSH SIGNATURE-----');
  assert.equal(lines.at(-2), '-----END SSH SIGNATURE-----');
  assert.equal(lines.at(-1), '');
  const body = lines.slice(1, -2);
  assert.ok(body.slice(0, -1).every((l) => l.length === 70));
  assert.ok(body.at(-1)!.length > 0 && body.at(-1)!.length <= 70);
});

test('the reader takes CRLF line ends, ignores text after the footer and refuses a missing header or footer', async () => {
  const sig = await signSshSignature(ed25519, message, { namespace: 'file' });
  const text = formatSshSignature(sig);
  assert.deepEqual(parseSshSignature(text.replace(/\n/g, '\r\n')), sig);
  assert.deepEqual(parseSshSignature(text + 'trailing words\n'), sig);
  assert.deepEqual(parseSshSignature(enc.encode(text)), sig);
  assert.throws(() => parseSshSignature(' ' + text), refused('malformed'));
  assert.throws(() => parseSshSignature(text.replace('-----END', '-----FIN')), refused('malformed'));
  assert.throws(() => parseSshSignature('-----BEGIN SSH SIGNATURE----- x\n'), refused('malformed'));
  assert.throws(() => parseSshSignature('-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n'), refused('malformed'));
  assert.throws(() => parseSshSignature(text.replace(/\n[A-Za-z]/, '\n*')), refused('malformed'));
  assert.throws(() => dearmorSshSignature('-----BEGIN SSH SIGNATURE-----\n' + 'A'.repeat(70 * 1024)), refused('malformed'));
});

test("PROTOCOL.sshsig's example is refused as malformed, as ssh-keygen refuses it", () => {
  const example = [
    '-----BEGIN SSH SIGNATURE-----',
    'U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgJKxoLBJBivUPNTUJUSslQTt2hD',
    'jozKvHarKeN8uYFqgAAAADZm9vAAAAAAAAAFMAAAALc3NoLWVkMjU1MTkAAABAKNC4IEbt',
    'Tq0Fb56xhtuE1/lK9H9RZJfON4o6hE9R4ZGFX98gy0+fFJ/1d2/RxnZky0Y7GojwrZkrHT',
    'FgCqVWAQ==',
    '-----END SSH SIGNATURE-----',
  ].join('\n');
  // The example predates the hash_algorithm field (it has none), so ssh-keygen
  // 10 says "parse signature object: invalid format" for it too.
  assert.throws(() => parseSshSignature(example), refused('malformed'));
});

test('blob rules: later versions, unknown hashes, an empty namespace and trailing bytes are refused', async () => {
  const sig = await signSshSignature(ed25519, message, { namespace: 'file' });
  assert.deepEqual(decodeSshSignature(encodeSshSignature(sig)), sig);
  assert.throws(() => decodeSshSignature(encodeSshSignature({ ...sig, version: 2 })), refused('unsupported'));
  // version 0 is not "larger than supported", so OpenSSH reads it; so do we
  assert.equal(decodeSshSignature(encodeSshSignature({ ...sig, version: 0 })).version, 0);
  const md5 = new Writer().raw(enc.encode('SSHSIG')).uint32(1).string(sig.publicKey).string('file').string('').string('md5').string(sig.signature).finish();
  assert.throws(() => decodeSshSignature(md5), refused('unsupported'));
  assert.throws(() => encodeSshSignature({ ...sig, namespace: '' }), refused('malformed'));
  const emptyNs = new Writer().raw(enc.encode('SSHSIG')).uint32(1).string(sig.publicKey).string('').string('').string('sha512').string(sig.signature).finish();
  assert.throws(() => decodeSshSignature(emptyNs), refused('malformed'));
  const blob = encodeSshSignature(sig);
  const longer = new Uint8Array(blob.length + 1);
  longer.set(blob);
  assert.throws(() => decodeSshSignature(longer), refused('malformed'));
  assert.throws(() => decodeSshSignature(enc.encode('SSHSIH\0\0\0\x01')), refused('malformed'));
  assert.throws(() => decodeSshSignature(new Uint8Array(3)), refused('malformed'));
  // a non-empty reserved field is read and ignored (the signed data always has it empty)
  const reserved = decodeSshSignature(encodeSshSignature({ ...sig, reserved: enc.encode('tag') }));
  verifySshSignature(reserved, message, 'file');
  await assert.rejects(signSshSignature(ed25519, message, { namespace: '' }), refused('malformed'));
});

// --------------------------------------------------------------- fuzzing

function mutate(rand: (n: number) => Uint8Array, bytes: Uint8Array): Uint8Array {
  const r = rand(4);
  const kind = r[0]! % 3;
  if (kind === 0) return bytes.subarray(0, ((r[1]! << 8) | r[2]!) % (bytes.length + 1));
  const out = bytes.slice();
  const flips = 1 + (r[3]! % 4);
  for (let i = 0; i < flips; i++) {
    const p = rand(3);
    const at = ((p[0]! << 8) | p[1]!) % out.length;
    out[at] = kind === 1 ? out[at]! ^ (1 << (p[2]! % 8)) : p[2]!;
  }
  return out;
}

function onlySshSignatureErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof SshSignatureError)) throw e;
  }
}

test('fuzz: random, truncated and corrupted armor and blobs give only SshSignatureError', async () => {
  const rand = seededRandom('sshsig-fuzz');
  const seeds: Uint8Array[] = [];
  for (const type of TYPES) seeds.push(encodeSshSignature(await signSshSignature(signers.get(type)!, message, { namespace: 'file' })));
  let parsed = 0;
  for (let i = 0; i < 4000; i++) {
    const seed = seeds[i % seeds.length]!;
    const blob = i % 10 === 0 ? rand(rand(1)[0]!) : mutate(rand, seed);
    onlySshSignatureErrors(() => {
      const sig = decodeSshSignature(blob);
      parsed++;
      verifySshSignature(sig, message, 'file');
    });
    const armored = enc.encode(armorSshSignature(seed));
    onlySshSignatureErrors(() => {
      const sig = parseSshSignature(mutate(rand, armored));
      verifySshSignature(sig, message, sig.namespace);
    });
  }
  assert.ok(parsed > 100, `only ${parsed} mutated blobs parsed; the fuzzer is not reaching the verifier`);
});
