// Each way a private key file can be unusable is its own KeyFileError
// problem, in every format: wrong passphrase, truncated, corrupt, unsupported
// cipher, unsupported or too costly KDF, unknown key type, too large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { KeyFileError, MAX_KDF_ROUNDS, generatePrivateKey, loadPrivateKey, writePrivateKey, type KeyFileProblem } from '../../src/keys/index.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';

const PASS = 'open sesame';

function problemOf(text: string | Uint8Array, passphrase?: string): KeyFileError {
  try {
    loadPrivateKey(text, passphrase);
  } catch (err) {
    assert.ok(err instanceof KeyFileError, String(err));
    return err;
  }
  assert.fail('the file loaded');
}

function expectProblem(text: string | Uint8Array, passphrase: string | undefined, problem: KeyFileProblem, message?: RegExp): void {
  const e = problemOf(text, passphrase);
  assert.equal(e.problem, problem, e.message);
  if (message) assert.match(e.message, message);
}

const body = (text: string) => new Uint8Array(Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64'));
const armor = (label: string, b: Uint8Array, headers = '') =>
  `-----BEGIN ${label}-----\n${headers}${Buffer.from(b).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;

/** An openssh-key-v1 file with header fields replaced. */
function rebuild(text: string, change: { cipher?: string; kdf?: string; kdfOptions?: Uint8Array }): string {
  const r = new Reader(body(text));
  const magic = r.raw(15);
  const cipher = r.text();
  const kdf = r.text();
  const kdfOptions = r.string();
  const w = new Writer().raw(magic).string(change.cipher ?? cipher).string(change.kdf ?? kdf).string(change.kdfOptions ?? kdfOptions);
  return armor('OPENSSH PRIVATE KEY', w.raw(r.rest()).finish());
}

/** A plain openssh-key-v1 file holding a key of a made-up type. */
function foreignTypeFile(type: string): string {
  const pub = new Writer().string(type).string(new Uint8Array(32)).finish();
  const section = new Writer().uint32(7).uint32(7).string(type).string(new Uint8Array(32)).string('comment');
  for (let i = 1; section.size % 8; i++) section.byte(i);
  const file = new Writer().raw(new TextEncoder().encode('openssh-key-v1\0')).string('none').string('none').string('').uint32(1).string(pub).string(section.finish());
  return armor('OPENSSH PRIVATE KEY', file.finish());
}

test('openssh-key-v1: a distinct problem for each failure', () => {
  const key = generatePrivateKey('ssh-ed25519');
  const enc = writePrivateKey(key, { passphrase: PASS, rounds: 1 });
  const plain = writePrivateKey(key);
  expectProblem(enc, 'wrong', 'wrong-passphrase', /wrong passphrase/);
  expectProblem(writePrivateKey(key, { passphrase: PASS, rounds: 1, cipher: 'aes256-gcm@openssh.com' }), 'wrong', 'wrong-passphrase', /authentication tag/);
  expectProblem(enc, undefined, 'passphrase-required');
  expectProblem(armor('OPENSSH PRIVATE KEY', body(plain).subarray(0, 100)), undefined, 'truncated', /truncated key file/);
  expectProblem(plain.slice(0, 80), undefined, 'truncated');
  const flipped = body(plain);
  flipped[0]! ^= 0x20;
  expectProblem(armor('OPENSSH PRIVATE KEY', flipped), undefined, 'malformed', /corrupt key file/);
  expectProblem(rebuild(enc, { cipher: 'serpent256-cbc' }), PASS, 'unsupported-cipher', /unsupported cipher "serpent256-cbc"/);
  expectProblem(rebuild(enc, { kdf: 'argon2' }), PASS, 'unsupported-kdf', /unsupported KDF "argon2"/);
  const tooMany = new Writer().string(new Uint8Array(16)).uint32(MAX_KDF_ROUNDS + 1).finish();
  const t0 = performance.now();
  expectProblem(rebuild(enc, { kdfOptions: tooMany }), PASS, 'kdf-too-costly', new RegExp(`rounds ${MAX_KDF_ROUNDS + 1} are outside 1\\.\\.${MAX_KDF_ROUNDS}`));
  assert.ok(performance.now() - t0 < 200, 'refused before any bcrypt work');
  expectProblem(foreignTypeFile('ssh-dss'), undefined, 'unknown-key-type', /unknown key type "ssh-dss"/);
  expectProblem(foreignTypeFile('ssh-ed448'), undefined, 'unknown-key-type');
  expectProblem('x'.repeat((1 << 20) + 1), undefined, 'too-large', /larger than 1 MiB/);
  expectProblem(new Uint8Array((1 << 20) + 1), undefined, 'too-large');
});

test('PEM and PKCS#8: a distinct problem for each failure', () => {
  const ec = generatePrivateKey('ecdsa-sha2-nistp256');
  const legacy = writePrivateKey(ec, { format: 'pem', passphrase: PASS });
  const pkcs8 = writePrivateKey(ec, { format: 'pkcs8', passphrase: PASS });
  const sec1 = writePrivateKey(ec, { format: 'pem' });
  expectProblem(legacy, 'wrong', 'wrong-passphrase');
  expectProblem(pkcs8, 'wrong', 'wrong-passphrase');
  expectProblem(legacy, undefined, 'passphrase-required');
  // truncated: the END line gone, the DER cut, the legacy ciphertext cut mid-block
  expectProblem(sec1.slice(0, 60), undefined, 'truncated', /no "-----END EC PRIVATE KEY-----" line/);
  expectProblem(armor('EC PRIVATE KEY', body(sec1).subarray(0, 50)), undefined, 'truncated', /DER data ends inside the key/);
  expectProblem(armor('ENCRYPTED PRIVATE KEY', body(pkcs8).subarray(0, 90)), PASS, 'truncated');
  const headers = /Proc-Type:.*\nDEK-Info:.*\n\n/.exec(legacy)![0];
  expectProblem(armor('EC PRIVATE KEY', body(legacy).subarray(0, 70), headers), PASS, 'truncated', /whole number of cipher blocks/);
  // corrupt: whole but not a key
  expectProblem(armor('EC PRIVATE KEY', Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x07)), undefined, 'malformed');
  // unsupported ciphers, legacy and PKCS#8
  expectProblem(legacy.replace('AES-128-CBC', 'CAMELLIA-128-CBC'), PASS, 'unsupported-cipher', /"CAMELLIA-128-CBC"/);
  const desPkcs8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'des-ede3-cbc', passphrase: PASS }) as string;
  assert.equal(loadPrivateKey(desPkcs8, PASS).keyType, 'ecdsa-sha2-nistp256', '3DES PKCS#8 still reads');
  // unknown key types
  for (const [label, pem] of [
    ['x25519', generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['ed448', generateKeyPairSync('ed448').privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'sec1' })],
  ] as const) {
    expectProblem(pem as string, undefined, 'unknown-key-type', new RegExp(label === 'secp256k1' ? 'curve' : label));
  }
});

test('every problem names the file when read from disk (withPath keeps the problem)', () => {
  const e = problemOf(writePrivateKey(generatePrivateKey('ssh-ed25519'), { passphrase: PASS, rounds: 1 }), 'nope');
  const named = e.withPath('/home/me/.ssh/id_ed25519');
  assert.equal(named.problem, 'wrong-passphrase');
  assert.equal(named.message, `/home/me/.ssh/id_ed25519: ${e.detail}`);
});
