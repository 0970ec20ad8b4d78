import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rsaKeyPair } from './rsa-key.js';
import {
  formatOpenSshPublicKeyLine,
  formatPpkPrivateKey,
  KeyFileError,
  loadPrivateKey,
  MAX_ARGON2_MEMORY_KIB,
  MAX_ARGON2_PARALLELISM,
  MAX_ARGON2_PASSES,
  MAX_ARGON2_WORK_KIB,
  parsePpkPrivateKey,
  signerFromPrivateKeyFile,
  sniffKeyFile,
  verifySignature,
  type KeyFileProblem,
  type PpkWriteOptions,
} from '../../src/keys/index.js';
import { PPK_VECTORS, PPK_VECTOR_PASSPHRASE } from './ppk-vectors.js';

/** Argon2 settings that cost milliseconds, for tests that write encrypted v3 files. */
const CHEAP = { memoryKiB: 32, passes: 1, parallelism: 1 } as const;

function keys(): Array<[string, KeyObject]> {
  return [
    ['ssh-ed25519', generateKeyPairSync('ed25519').privateKey],
    ['ecdsa-sha2-nistp256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey],
    ['ecdsa-sha2-nistp384', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey],
    ['ecdsa-sha2-nistp521', generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey],
    ['ssh-rsa', rsaKeyPair(2048).privateKey],
  ];
}

function problemOf(fn: () => unknown): KeyFileProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeyFileError, `expected KeyFileError, got ${String(err)}`);
    return err.problem;
  }
  assert.fail('expected a KeyFileError');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeyFileError);
    return err.message;
  }
  assert.fail('expected a KeyFileError');
}

test('puttygen-written PPK files (v2 and v3, plain and each Argon2 flavour) read to the public key puttygen -L prints', () => {
  for (const v of PPK_VECTORS) {
    const key = parsePpkPrivateKey(v.file, PPK_VECTOR_PASSPHRASE);
    assert.equal(formatOpenSshPublicKeyLine(key.publicBlob, key.comment), v.publicLine, v.name);
    assert.equal(key.format, 'ppk');
    assert.equal(key.encrypted, v.file.includes('aes256-cbc'), v.name);
    assert.equal(key.ppkVersion, v.file.startsWith('PuTTY-User-Key-File-2') ? 2 : 3, v.name);
    // the same file through the generic loader, as bytes
    const loaded = loadPrivateKey(new TextEncoder().encode(v.file), PPK_VECTOR_PASSPHRASE);
    assert.deepEqual(loaded.publicBlob, key.publicBlob, v.name);
  }
});

test('the Argon2 parameters of an encrypted v3 file are reported', () => {
  const p256 = PPK_VECTORS.find((v) => v.name === 'nistp256 v3 Argon2i parallelism 2')!;
  const key = parsePpkPrivateKey(p256.file, PPK_VECTOR_PASSPHRASE);
  assert.equal(key.argon2?.flavour, 'Argon2i');
  assert.equal(key.argon2?.memoryKiB, 32);
  assert.equal(key.argon2?.parallelism, 2);
});

test('a PPK key signs as the signer of its file, verifiable with its public blob', () => {
  for (const v of PPK_VECTORS.filter((x) => !x.file.includes('aes256-cbc'))) {
    const signer = signerFromPrivateKeyFile(v.file);
    const data = new TextEncoder().encode('session data');
    const alg = signer.algorithms[0]!;
    assert.ok(verifySignature(signer.publicBlob, alg, data, signer.sign(alg, data)), v.name);
  }
});

test('sniffKeyFile names PuTTY files as ppk', () => {
  assert.equal(sniffKeyFile(PPK_VECTORS[0]!.file).format, 'ppk');
});

test('PPK files round-trip for every key type, version and encryption', () => {
  for (const [type, key] of keys()) {
    for (const version of [2, 3] as const) {
      for (const passphrase of [undefined, 'pässphrase']) {
        const options: PpkWriteOptions = { version, comment: `a ${type} key`, argon2: CHEAP, ...(passphrase ? { passphrase } : {}) };
        const file = formatPpkPrivateKey(key, options);
        assert.ok(file.startsWith(`PuTTY-User-Key-File-${version}: ${type}\nEncryption: ${passphrase ? 'aes256-cbc' : 'none'}\n`));
        assert.ok(file.split('\n').every((line) => line.length <= 64 || line.startsWith('Private-MAC') || line.startsWith('Comment')));
        const back = parsePpkPrivateKey(file, passphrase);
        assert.equal(back.keyType, type);
        assert.equal(back.comment, `a ${type} key`);
        assert.equal(back.encrypted, passphrase !== undefined);
        assert.equal(back.ppkVersion, version);
        assert.deepEqual(back.keyObject.export({ format: 'jwk' }), key.export({ format: 'jwk' }), `${type} v${version}`);
      }
    }
  }
});

test('the default v3 writer uses Argon2id, 8192 KiB, 13 passes, parallelism 1 and a fresh salt', () => {
  const key = generateKeyPairSync('ed25519').privateKey;
  const a = formatPpkPrivateKey(key, { passphrase: 'x' });
  assert.match(a, /\nKey-Derivation: Argon2id\nArgon2-Memory: 8192\nArgon2-Passes: 13\nArgon2-Parallelism: 1\nArgon2-Salt: [0-9a-f]{32}\n/);
  const b = formatPpkPrivateKey(key, { passphrase: 'x', argon2: CHEAP });
  assert.notEqual(/Argon2-Salt: (\w+)/.exec(a)![1], /Argon2-Salt: (\w+)/.exec(b)![1]);
  // unencrypted files have no KDF lines
  assert.doesNotMatch(formatPpkPrivateKey(key), /Key-Derivation|Argon2/);
});

test('CRLF and CR line endings are read', () => {
  for (const v of PPK_VECTORS.slice(0, 3)) {
    for (const eol of ['\r\n', '\r']) {
      const key = parsePpkPrivateKey(v.file.replace(/\n/g, eol), PPK_VECTOR_PASSPHRASE);
      assert.equal(formatOpenSshPublicKeyLine(key.publicBlob, key.comment), v.publicLine);
    }
  }
});

test('passphrase problems: missing, wrong, and ignored for a plain file', () => {
  const enc3 = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 Argon2id')!.file;
  const enc2 = PPK_VECTORS.find((v) => v.name === 'ed25519 v2 aes256-cbc')!.file;
  for (const file of [enc2, enc3]) {
    assert.equal(problemOf(() => parsePpkPrivateKey(file)), 'passphrase-required');
    assert.equal(problemOf(() => parsePpkPrivateKey(file, '')), 'passphrase-required');
    assert.equal(problemOf(() => parsePpkPrivateKey(file, 'wrong horse')), 'wrong-passphrase');
    assert.equal(problemOf(() => loadPrivateKey(file, 'wrong horse')), 'wrong-passphrase');
  }
  const plain = PPK_VECTORS[0]!.file;
  assert.equal(parsePpkPrivateKey(plain, 'anything').encrypted, false);
  assert.equal(problemOf(() => parsePpkPrivateKey(plain, 42 as unknown as string)), 'unsupported');
});

test('an edited header, comment or public key breaks the MAC', () => {
  const plain = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 plain')!.file;
  const enc = PPK_VECTORS.find((v) => v.name === 'ed25519 v2 aes256-cbc')!.file;
  assert.match(messageOf(() => parsePpkPrivateKey(plain.replace('Comment: ed25519 fixture', 'Comment: ed25519 fixturf'))), /MAC does not match/);
  assert.equal(problemOf(() => parsePpkPrivateKey(enc.replace('Comment: ed25519 fixture', 'Comment: x'), PPK_VECTOR_PASSPHRASE)), 'wrong-passphrase');
  // another key's public half, with the MAC of the original
  const other = formatPpkPrivateKey(generateKeyPairSync('ed25519').privateKey, { comment: 'ed25519 fixture' });
  const otherPublic = other.split('\n').slice(4, 6);
  const lines = plain.split('\n');
  lines.splice(4, 2, ...otherPublic);
  assert.equal(problemOf(() => parsePpkPrivateKey(lines.join('\n'))), 'malformed');
});

test('Argon2 costs over the caps are refused before any work, naming the cap', () => {
  const enc3 = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 Argon2id')!.file;
  const withParams = (memory: number, passes: number, parallelism: number): string =>
    enc3
      .replace(/Argon2-Memory: \d+/, `Argon2-Memory: ${memory}`)
      .replace(/Argon2-Passes: \d+/, `Argon2-Passes: ${passes}`)
      .replace(/Argon2-Parallelism: \d+/, `Argon2-Parallelism: ${parallelism}`);
  const cases: Array<[string, RegExp]> = [
    [withParams(MAX_ARGON2_MEMORY_KIB + 1, 1, 1), new RegExp(`memory ${MAX_ARGON2_MEMORY_KIB + 1} KiB is over the cap of ${MAX_ARGON2_MEMORY_KIB} KiB`)],
    [withParams(64, MAX_ARGON2_PASSES + 1, 1), new RegExp(`passes ${MAX_ARGON2_PASSES + 1} are over the cap of ${MAX_ARGON2_PASSES}`)],
    [withParams(1024, 1, MAX_ARGON2_PARALLELISM + 1), new RegExp(`parallelism ${MAX_ARGON2_PARALLELISM + 1} is over the cap of ${MAX_ARGON2_PARALLELISM}`)],
    [withParams(MAX_ARGON2_MEMORY_KIB, 17, 1), new RegExp(`over the cap of ${MAX_ARGON2_WORK_KIB} KiB`)],
    [withParams(999999999, 1, 1), /over the cap of/],
  ];
  for (const [file, message] of cases) {
    const started = Date.now();
    let err: unknown;
    try {
      parsePpkPrivateKey(file, 'x');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof KeyFileError, String(message));
    assert.equal(err.problem, 'kdf-too-costly');
    assert.match(err.message, message);
    assert.ok(Date.now() - started < 1000, 'refused before deriving');
  }
  // the writer refuses what the reader would refuse
  assert.throws(() => formatPpkPrivateKey(generateKeyPairSync('ed25519').privateKey, { passphrase: 'x', argon2: { passes: MAX_ARGON2_PASSES + 1 } }), RangeError);
});

test('unsupported versions, key types, encryptions and KDFs are unsupported; not-PPK is not-a-private-key', () => {
  const plain = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 plain')!.file;
  const enc3 = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 Argon2id')!.file;
  assert.match(messageOf(() => parsePpkPrivateKey(plain.replace('File-3', 'File-1'))), /version 1/);
  assert.equal(problemOf(() => parsePpkPrivateKey(plain.replace('File-3', 'File-4'))), 'unsupported');
  assert.equal(problemOf(() => loadPrivateKey(plain.replace('File-3', 'File-1'))), 'unsupported');
  assert.equal(problemOf(() => parsePpkPrivateKey(plain.replace(': ssh-ed25519', ': ssh-dss'))), 'unsupported');
  assert.equal(problemOf(() => parsePpkPrivateKey(plain.replace('Encryption: none', 'Encryption: 3des-cbc'))), 'unsupported');
  assert.equal(problemOf(() => parsePpkPrivateKey(enc3.replace('Argon2id', 'scrypt'), 'x')), 'unsupported');
  assert.equal(problemOf(() => parsePpkPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\n')), 'not-a-private-key');
  // RSA keys under 1024 bits are refused as OpenSSH refuses them
  const tinyFile = formatPpkPrivateKey(rsaKeyPair(768).privateKey);
  assert.match(messageOf(() => parsePpkPrivateKey(tinyFile)), /unsupported key \(RSA modulus of 768 bits/);
  assert.equal(problemOf(() => parsePpkPrivateKey(tinyFile)), 'unsupported');
  // the header's type must be the public key's
  assert.equal(problemOf(() => parsePpkPrivateKey(plain.replace(': ssh-ed25519', ': ssh-rsa'))), 'malformed');
});

test('structural damage is malformed, with a reason', () => {
  const plain = PPK_VECTORS.find((v) => v.name === 'ed25519 v3 plain')!.file;
  const cases: Array<[string, string]> = [
    [plain.replace('Public-Lines: 2', 'Public-Lines: 3'), 'Public-Lines block is not base64'],
    [plain.replace('Public-Lines: 2', 'Public-Lines: 99999'), 'over 1024'],
    [plain.replace('Public-Lines: 2', 'Public-Lines: x'), 'not a number'],
    [plain.replace(/Private-MAC: .*\n/, ''), '"Private-MAC" line is missing'],
    [plain.replace(/Private-MAC: (\w+)/, 'Private-MAC: $1aa'), 'not 32 bytes of hex'],
    [plain + 'extra\n', 'lines after Private-MAC'],
    [plain.replace(/\nAAAAIB/, '\n*AAAIB'), 'not base64'],
    [plain.slice(0, plain.indexOf('Private-Lines')), 'missing'],
  ];
  for (const [file, reason] of cases) {
    assert.equal(problemOf(() => parsePpkPrivateKey(file)), 'malformed', reason);
    assert.ok(messageOf(() => parsePpkPrivateKey(file)).includes(reason), `${reason}: ${messageOf(() => parsePpkPrivateKey(file))}`);
  }
});

test('the writer refuses comments with line breaks, other versions and public keys', () => {
  const key = generateKeyPairSync('ed25519');
  assert.throws(() => formatPpkPrivateKey(key.privateKey, { comment: 'a\nb' }), RangeError);
  assert.throws(() => formatPpkPrivateKey(key.privateKey, { version: 4 as 3 }), RangeError);
  assert.throws(() => formatPpkPrivateKey(key.publicKey), RangeError);
  assert.throws(() => formatPpkPrivateKey(key.privateKey, { passphrase: 'x', argon2: { passes: 0 } }), RangeError);
});
