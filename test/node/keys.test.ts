import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { rsaKeyPair } from '../core/rsa-key.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../../src/errors.js';
import {
  encodePublicKey,
  fingerprintSha256,
  formatOpenSshPublicKeyLine,
  generateHostKey,
  loadPrivateKey,
  parseOpenSshPublicKeyLine,
  parsePublicKey,
  signatureAlgorithmsFor,
  signerFromKeyObject,
  signerFromOpenSshPrivateKey,
  verifySignature,
  type HostKeyType,
} from '../../src/keys/index.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { utf8 } from '../../src/wire/bytes.js';
import { seededRandom } from '../../src/testing/random.js';
import { SSH_KEYGEN, KEYGEN_CASES, keygenSkip, opensshPrivateSectionStart } from '../core/keygen-cases.js';

const TYPES: HostKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

test('public blobs round-trip through KeyObjects for every key type', () => {
  for (const type of TYPES) {
    const signer = generateHostKey(type, 2048);
    assert.equal(signer.keyType, type);
    const parsed = parsePublicKey(signer.publicBlob);
    assert.equal(parsed.type, type);
    assert.deepEqual(encodePublicKey(parsed.keyObject), signer.publicBlob);
    const fp = fingerprintSha256(signer.publicBlob);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(fp, 'SHA256:' + createHash('sha256').update(signer.publicBlob).digest('base64').replace(/=+$/, ''));
  }
});

test('signatureAlgorithmsFor', () => {
  assert.deepEqual(signatureAlgorithmsFor('ssh-rsa'), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  assert.deepEqual(signatureAlgorithmsFor('ssh-ed25519'), ['ssh-ed25519']);
  assert.deepEqual(signatureAlgorithmsFor('ecdsa-sha2-nistp384'), ['ecdsa-sha2-nistp384']);
  assert.deepEqual(signatureAlgorithmsFor('ssh-dss'), []);
});

test('OpenSSH public key lines', () => {
  const signer = generateHostKey('ssh-ed25519');
  const line = formatOpenSshPublicKeyLine(signer.publicBlob, 'me@host two words');
  assert.match(line, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\S+ me@host two words$/);
  const parsed = parseOpenSshPublicKeyLine(line + '\n');
  assert.deepEqual(parsed.blob, signer.publicBlob);
  assert.equal(parsed.comment, 'me@host two words');
  assert.equal(parseOpenSshPublicKeyLine(formatOpenSshPublicKeyLine(signer.publicBlob)).comment, '');
  assert.throws(() => parseOpenSshPublicKeyLine('ssh-rsa ' + line.split(' ')[1]), ProtocolError);
  assert.throws(() => parseOpenSshPublicKeyLine('garbage'), ProtocolError);
  assert.throws(() => parseOpenSshPublicKeyLine('ssh-ed25519 AAAA'), ProtocolError);
});

test('malformed public blobs are ProtocolError', () => {
  const ed = generateHostKey('ssh-ed25519').publicBlob;
  const ec = generateHostKey('ecdsa-sha2-nistp256').publicBlob;
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    ed.subarray(0, ed.length - 1),
    new Writer().raw(ed).byte(0).finish(),
    new Writer().string('ssh-dss').string(new Uint8Array(20)).finish(),
    new Writer().string('ssh-ed25519').string(new Uint8Array(31)).finish(),
    // RSA below 1024 bits
    encodePublicKey(rsaKeyPair(768).publicKey),
    // curve name disagrees with the type
    (() => {
      const r = new Reader(ec);
      r.text();
      r.text();
      return new Writer().string('ecdsa-sha2-nistp256').string('nistp384').string(r.string()).finish();
    })(),
    // off-curve point
    (() => {
      const b = ec.slice();
      b[b.length - 1]! ^= 1;
      return b;
    })(),
  ];
  for (const blob of bad) assert.throws(() => parsePublicKey(blob), ProtocolError);
  assert.throws(() => signerFromKeyObject(generateKeyPairSync('x25519').privateKey), ProtocolError);
  assert.throws(() => signerFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), ProtocolError);
});

test('PEM and PKCS#8 files load through node:crypto', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const pkcs8 = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const sec1 = privateKey.export({ format: 'pem', type: 'sec1' }) as string;
  const a = signerFromOpenSshPrivateKey(pkcs8);
  const b = signerFromOpenSshPrivateKey(Buffer.from(sec1));
  assert.deepEqual(a.publicBlob, b.publicBlob);
  assert.equal(a.keyType, 'ecdsa-sha2-nistp384');
  const enc = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
  assert.throws(() => loadPrivateKey(enc), /encrypted/);
  assert.throws(() => loadPrivateKey('hello'), ProtocolError);
  assert.throws(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), ProtocolError);
});

// ------------------------------------------------------------ against the real ssh-keygen


const keygenCases = KEYGEN_CASES;
const keygenSkipValue = keygenSkip('keys.test');

function withTempDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-keys-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function keygen(args: string[], input?: string): string {
  return execFileSync(SSH_KEYGEN, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The bytes an SSHSIG signature covers (OpenSSH PROTOCOL.sshsig). */
function sshsigSignedData(namespace: string, message: Uint8Array): Uint8Array {
  return new Writer()
    .raw(utf8('SSHSIG'))
    .string(namespace)
    .string('')
    .string('sha512')
    .string(createHash('sha512').update(message).digest())
    .finish();
}

function sshsigArmor(publicBlob: Uint8Array, namespace: string, signature: Uint8Array): string {
  const blob = new Writer().raw(utf8('SSHSIG')).uint32(1).string(publicBlob).string(namespace).string('').string('sha512').string(signature).finish();
  const b64 = Buffer.from(blob).toString('base64').replace(/(.{70})/g, '$1\n');
  return `-----BEGIN SSH SIGNATURE-----\n${b64}\n-----END SSH SIGNATURE-----\n`;
}

test('keys made by ssh-keygen: load, fingerprint matches ssh-keygen -lf, signatures interoperate', { skip: keygenSkipValue }, () => {
  withTempDir((dir) => {
    const message = utf8('message for sshsig interop\n');
    writeFileSync(join(dir, 'msg'), message);
    for (const [label, args, type] of keygenCases) {
      const path = join(dir, label);
      keygen(['-q', ...args, '-N', '', '-C', `comment ${label}`, '-f', path]);
      const file = readFileSync(path, 'utf8');
      assert.match(file, /BEGIN OPENSSH PRIVATE KEY/);
      const loaded = loadPrivateKey(file);
      assert.equal(loaded.comment, `comment ${label}`);
      const signer = signerFromOpenSshPrivateKey(file);
      assert.equal(signer.keyType, type);
      const pubLine = parseOpenSshPublicKeyLine(readFileSync(path + '.pub', 'utf8'));
      assert.deepEqual(signer.publicBlob, pubLine.blob, label);
      const listed = keygen(['-l', '-E', 'sha256', '-f', path + '.pub']);
      assert.equal(listed.split(' ')[1], fingerprintSha256(signer.publicBlob), label);

      // ours -> OpenSSH: ssh-keygen -Y check-novalidate accepts our signature
      for (const alg of type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [type]) {
        const sig = signer.sign(alg, sshsigSignedData('nacre-test', message));
        writeFileSync(join(dir, 'ours.sig'), sshsigArmor(signer.publicBlob, 'nacre-test', sig));
        const check = spawnSync(SSH_KEYGEN, ['-Y', 'check-novalidate', '-n', 'nacre-test', '-s', join(dir, 'ours.sig')], { input: message });
        assert.equal(check.status, 0, `${label}/${alg}: ${check.stderr.toString()}`);
      }

      // OpenSSH -> ours: verify the inner signature of ssh-keygen -Y sign
      keygen(['-Y', 'sign', '-q', '-f', path, '-n', 'nacre-test', join(dir, 'msg')]);
      const armored = readFileSync(join(dir, 'msg.sig'), 'utf8');
      rmSync(join(dir, 'msg.sig'));
      const body = Buffer.from(armored.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const r = new Reader(new Uint8Array(body));
      assert.equal(Buffer.from(r.raw(6)).toString(), 'SSHSIG');
      r.uint32();
      const pub = r.string();
      assert.equal(r.text(), 'nacre-test');
      r.string();
      const hashAlg = r.text();
      const sigBlob = r.string();
      assert.equal(hashAlg, 'sha512');
      const sigAlg = new Reader(sigBlob).text();
      assert.ok(verifySignature(pub, sigAlg, sshsigSignedData('nacre-test', message), sigBlob), `${label}: ${sigAlg}`);
      assert.ok(!verifySignature(pub, sigAlg, sshsigSignedData('other-namespace', message), sigBlob));
    }
  });
});

test('PEM keys from ssh-keygen -m PEM / PKCS8 load', { skip: keygenSkipValue }, () => {
  withTempDir((dir) => {
    for (const [format, args] of [['PEM', ['-t', 'rsa', '-b', '2048']], ['PKCS8', ['-t', 'ecdsa', '-b', '256']], ['PEM', ['-t', 'ecdsa', '-b', '521']]] as const) {
      const path = join(dir, `k-${format}-${args[1]}-${args[3]}`);
      keygen(['-q', ...args, '-m', format, '-N', '', '-f', path]);
      const signer = signerFromOpenSshPrivateKey(readFileSync(path));
      assert.deepEqual(signer.publicBlob, parseOpenSshPublicKeyLine(readFileSync(path + '.pub', 'utf8')).blob);
    }
  });
});

test('bad OpenSSH private key files are ProtocolError naming the problem', { skip: keygenSkipValue }, () => {
  withTempDir((dir) => {
    const path = join(dir, 'k');
    keygen(['-q', '-t', 'ed25519', '-N', '', '-f', path]);
    const good = readFileSync(path, 'utf8');
    const body = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const armor = (b: Uint8Array) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(b).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;

    assert.throws(() => loadPrivateKey(good.replace('-----END OPENSSH PRIVATE KEY-----', '')), /BEGIN\/END/);
    assert.throws(() => loadPrivateKey(armor(body.subarray(0, body.length - 9))), ProtocolError);
    const wrongMagic = Buffer.from(body);
    wrongMagic[0] = 0x4f;
    assert.throws(() => loadPrivateKey(armor(wrongMagic)), /openssh-key-v1/);
    const sectionStart = opensshPrivateSectionStart(new Uint8Array(body));
    const badCheck = Buffer.from(body);
    badCheck[sectionStart]! ^= 1;
    assert.throws(() => loadPrivateKey(armor(badCheck)), /check bytes/);
    const otherPublic = Buffer.from(body);
    otherPublic[sectionStart - 5]! ^= 1;
    assert.throws(() => loadPrivateKey(armor(otherPublic)), /does not match/);

    const encPath = join(dir, 'enc');
    keygen(['-q', '-t', 'ed25519', '-N', 'secret', '-f', encPath]);
    assert.throws(() => loadPrivateKey(readFileSync(encPath, 'utf8')), /encrypted/);
  });
});

// ------------------------------------------------- RSA public key sanity

/** An ssh-rsa blob from raw exponent and modulus magnitudes (big-endian). */
function rsaBlob(e: Uint8Array, n: Uint8Array): Uint8Array {
  return new Writer().string('ssh-rsa').mpintFromBytes(e).mpintFromBytes(n).finish().slice();
}

/** The magnitude of `bits` bits: top bit set, odd, the rest from `fill`. */
function magnitude(bits: number, fill = 0xa5): Uint8Array {
  const b = new Uint8Array(Math.ceil(bits / 8)).fill(fill);
  const top = bits % 8 === 0 ? 8 : bits % 8;
  b[0] = (1 << (top - 1)) | (fill & ((1 << (top - 1)) - 1));
  b[b.length - 1]! |= 1;
  return b;
}

function rsaParts(blob: Uint8Array): { e: Uint8Array; n: Uint8Array } {
  const r = new Reader(blob);
  r.text();
  return { e: r.mpintBytes(), n: r.mpintBytes() };
}

const F4 = new Uint8Array([1, 0, 1]);

test('RSA public keys with absurd exponents or sizes are refused before OpenSSL sees them', () => {
  const { n } = rsaParts(generateHostKey('ssh-rsa', 2048).publicBlob);
  const cases: [string, Uint8Array, RegExp][] = [
    ['even exponent', rsaBlob(new Uint8Array([1, 0, 0]), n), /odd number of at least 3/],
    ['exponent 1', rsaBlob(new Uint8Array([1]), n), /odd number of at least 3/],
    ['exponent 0', rsaBlob(new Uint8Array(0), n), /odd number of at least 3/],
    ['33-bit exponent', rsaBlob(magnitude(33), n), /exponent of 33 bits/],
    ['3064-bit exponent', rsaBlob(magnitude(3064), n), /exponent of 3064 bits/],
    ['1023-bit modulus', rsaBlob(F4, magnitude(1023)), /modulus of 1023 bits/],
    ['16385-bit modulus', rsaBlob(F4, magnitude(16385)), /modulus of 16385 bits/],
    ['16392-bit modulus', rsaBlob(F4, magnitude(16392)), /RSA modulus/],
  ];
  for (const [what, blob, message] of cases) {
    const started = performance.now();
    assert.throws(() => parsePublicKey(blob), (e: unknown) => e instanceof ProtocolError && message.test(e.message), what);
    // a structural check: far below one big-number operation on such a key
    assert.ok(performance.now() - started < 50, `${what} took ${performance.now() - started} ms`);
    // the signature path refuses them too, without throwing
    assert.equal(verifySignature(blob, 'rsa-sha2-256', new Uint8Array(1), new Uint8Array(0)), false, what);
  }
  // the limits themselves are fine: 32-bit and 3-valued exponents, 1024-bit modulus
  assert.equal(parsePublicKey(rsaBlob(magnitude(32), n)).type, 'ssh-rsa');
  assert.equal(parsePublicKey(rsaBlob(new Uint8Array([3]), n)).type, 'ssh-rsa');
  assert.equal(parsePublicKey(rsaBlob(F4, rsaParts(encodePublicKey(rsaKeyPair(1024).publicKey)).n)).type, 'ssh-rsa');
});

test('ordinary 2048- and 3072-bit RSA keys with e = 65537 still sign and verify', () => {
  for (const bits of [2048, 3072]) {
    const k = generateHostKey('ssh-rsa', bits);
    assert.deepEqual(rsaParts(k.publicBlob).e, F4);
    assert.equal(parsePublicKey(k.publicBlob).keyObject.asymmetricKeyDetails?.modulusLength, bits);
    const data = utf8(`data ${bits}`);
    for (const alg of ['rsa-sha2-512', 'rsa-sha2-256']) assert.ok(verifySignature(k.publicBlob, alg, data, k.sign(alg, data)), `${bits} ${alg}`);
  }
});

test('mutated public key blobs only ever give ProtocolError', () => {
  const random = seededRandom('blob-fuzz');
  const seeds = [generateHostKey('ssh-rsa', 2048), generateHostKey('ssh-ed25519'), generateHostKey('ecdsa-sha2-nistp256')].map((k) => k.publicBlob);
  const byte = () => random(1)[0]!;
  for (let i = 0; i < 3000; i++) {
    const blob = seeds[i % seeds.length]!.slice();
    // flip a few bytes, favouring the length words and the exponent near the front
    for (let j = 1 + (byte() % 4); j > 0; j--) {
      const at = byte() < 128 ? byte() % Math.min(40, blob.length) : (byte() * 256 + byte()) % blob.length;
      blob[at] = byte();
    }
    const cut = byte() < 32 ? blob.subarray(0, (byte() * 256 + byte()) % (blob.length + 1)) : blob;
    try {
      parsePublicKey(cut);
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `case ${i}: ${String(e)}`);
    }
  }
});
