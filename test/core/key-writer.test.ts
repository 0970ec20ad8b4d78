// Writing private key files: every type in every format reads back as the
// same key, the openssh-key-v1 layout is ssh-keygen's (header, check words,
// padding, line length), and bad requests are typed KeyFileErrors.
// (ssh-keygen's own verdict on these files is test/interop/key-files.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  DEFAULT_KDF_ROUNDS,
  KEY_FILE_CIPHER_NAMES,
  KeyFileError,
  MAX_KDF_ROUNDS,
  generatePrivateKey,
  loadPrivateKey,
  rewritePrivateKey,
  writePrivateKey,
  encodePublicKey,
  type HostKeyType,
  type KeyFileProblem,
  type PrivateKeyFileFormat,
} from '../../src/keys/index.js';
import { Reader } from '../../src/wire/reader.js';

const TYPES: readonly HostKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];
const KEYS = new Map(TYPES.map((t) => [t, generatePrivateKey(t, { bits: t === 'ssh-rsa' ? 2048 : undefined })]));
const key = (t: HostKeyType) => KEYS.get(t)!;

function throwsProblem(f: () => unknown, problem: KeyFileProblem, message?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof KeyFileError, `expected KeyFileError, got ${String(e)}`);
    assert.equal(e.problem, problem, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

function body(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

interface OpenSshLayout {
  cipher: string;
  kdf: string;
  salt: Uint8Array | null;
  rounds: number | null;
  publicBlob: Uint8Array;
  sealed: Uint8Array;
}

function layout(text: string): OpenSshLayout {
  const r = new Reader(body(text));
  assert.equal(Buffer.from(r.raw(15)).toString('latin1'), 'openssh-key-v1\0');
  const cipher = r.text();
  const kdf = r.text();
  const options = r.string();
  let salt: Uint8Array | null = null;
  let rounds: number | null = null;
  if (options.length > 0) {
    const o = new Reader(options);
    salt = o.string();
    rounds = o.uint32();
    o.end();
  }
  assert.equal(r.uint32(), 1);
  return { cipher, kdf, salt, rounds, publicBlob: r.string(), sealed: r.string() };
}

test('every key type in every format reads back as the same key', () => {
  for (const type of TYPES) {
    const k = key(type);
    const blob = encodePublicKey(k);
    const formats: PrivateKeyFileFormat[] = type === 'ssh-ed25519' ? ['openssh', 'pkcs8'] : ['openssh', 'pem', 'pkcs8'];
    for (const format of formats) {
      for (const passphrase of [undefined, '', 'secret words']) {
        const label = `${type} ${format} ${passphrase ? 'encrypted' : 'plain'}`;
        const text = writePrivateKey(k, { format, passphrase, rounds: 1, comment: 'me@host' });
        const back = loadPrivateKey(text, passphrase);
        assert.deepEqual(back.publicBlob, blob, label);
        assert.equal(back.encrypted, Boolean(passphrase), label);
        assert.equal(back.comment, format === 'openssh' ? 'me@host' : '', label);
        const expectedFormat = format === 'pem' ? (type === 'ssh-rsa' ? 'pkcs1' : 'sec1') : format;
        assert.equal(back.format, expectedFormat, label);
        const head = {
          openssh: 'OPENSSH PRIVATE KEY',
          pem: type === 'ssh-rsa' ? 'RSA PRIVATE KEY' : 'EC PRIVATE KEY',
          pkcs8: passphrase ? 'ENCRYPTED PRIVATE KEY' : 'PRIVATE KEY',
        }[format as 'openssh' | 'pem' | 'pkcs8'];
        assert.ok(text.startsWith(`-----BEGIN ${head}-----\n`), label);
        if (format === 'pem' && passphrase) assert.match(text, /Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,/);
        if (passphrase) throwsProblem(() => loadPrivateKey(text, 'not it'), 'wrong-passphrase');
      }
    }
  }
});

test('openssh-key-v1 as ssh-keygen lays it out, for every cipher', () => {
  const k = key('ecdsa-sha2-nistp256');
  const plain = writePrivateKey(k, { comment: 'c' });
  const p = layout(plain);
  assert.deepEqual([p.cipher, p.kdf, p.salt, p.rounds], ['none', 'none', null, null]);
  assert.deepEqual(p.publicBlob, encodePublicKey(k));
  // the private section: two equal check words, key, comment, then 1, 2, 3... to a multiple of 8
  const s = new Reader(p.sealed);
  assert.equal(p.sealed.length % 8, 0);
  assert.equal(s.uint32(), s.uint32());
  assert.equal(s.text(), 'ecdsa-sha2-nistp256');
  s.text();
  s.string();
  s.mpint();
  assert.equal(s.text(), 'c');
  const padLength = p.sealed.length - s.position;
  assert.ok(padLength < 8);
  assert.deepEqual([...s.rest()], Array.from({ length: padLength }, (_, i) => i + 1));
  // lines of 70 characters, as ssh-keygen writes them
  const lines = plain.trimEnd().split('\n');
  assert.ok(lines.slice(1, -2).every((l) => l.length === 70));
  assert.ok(plain.endsWith('\n-----END OPENSSH PRIVATE KEY-----\n'));

  const blockSizes: Record<string, number> = { 'chacha20-poly1305@openssh.com': 8, '3des-cbc': 8 };
  for (const cipher of KEY_FILE_CIPHER_NAMES) {
    const text = writePrivateKey(k, { passphrase: 'pw', cipher, rounds: 1, comment: cipher });
    const l = layout(text);
    assert.equal(l.cipher, cipher);
    assert.equal(l.kdf, 'bcrypt');
    assert.equal(l.salt?.length, 16);
    assert.equal(l.rounds, 1);
    assert.equal(l.sealed.length % (blockSizes[cipher] ?? 16), 0, cipher);
    const back = loadPrivateKey(text, 'pw');
    assert.equal(back.comment, cipher);
    assert.deepEqual(back.publicBlob, encodePublicKey(k));
  }
  // the default: aes256-ctr, 24 rounds (what ssh-keygen 10 writes), a fresh salt each time
  const a = layout(writePrivateKey(k, { passphrase: 'pw' }));
  const b = layout(writePrivateKey(k, { passphrase: 'pw' }));
  assert.deepEqual([a.cipher, a.rounds], ['aes256-ctr', DEFAULT_KDF_ROUNDS]);
  assert.notDeepEqual(a.salt, b.salt);
  // the cipher is ignored without a passphrase, as ssh-keygen -Z is with -N ''
  assert.equal(layout(writePrivateKey(k, { cipher: 'aes128-cbc' })).cipher, 'none');
});

test('a loaded key writes back with its comment; rewritePrivateKey changes passphrase, comment or format', () => {
  const k = key('ssh-ed25519');
  const original = writePrivateKey(k, { passphrase: 'old', rounds: 1, comment: 'laptop' });
  const loaded = loadPrivateKey(original, 'old');
  assert.equal(loadPrivateKey(writePrivateKey(loaded)).comment, 'laptop');

  // -p: new passphrase, comment kept
  const repass = rewritePrivateKey(original, 'old', { passphrase: 'new', rounds: 1 });
  throwsProblem(() => loadPrivateKey(repass, 'old'), 'wrong-passphrase');
  assert.equal(loadPrivateKey(repass, 'new').comment, 'laptop');
  // -c: new comment, passphrase kept
  const recomment = rewritePrivateKey(original, 'old', { comment: 'desktop', rounds: 1 });
  assert.equal(loadPrivateKey(recomment, 'old').comment, 'desktop');
  // -p -N '': decrypted
  const cleared = rewritePrivateKey(original, 'old', { passphrase: '' });
  assert.equal(loadPrivateKey(cleared).encrypted, false);
  // -p -m PKCS8: converted
  const pkcs8 = rewritePrivateKey(original, 'old', { format: 'pkcs8' });
  assert.equal(loadPrivateKey(pkcs8, 'old').format, 'pkcs8');
  // a PEM file stays PEM
  const pem = writePrivateKey(key('ssh-rsa'), { format: 'pem' });
  assert.ok(rewritePrivateKey(pem, undefined, { passphrase: 'x' }).startsWith('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED'));
  throwsProblem(() => rewritePrivateKey(original, 'wrong', { comment: 'x' }), 'wrong-passphrase');
});

test('what cannot be written is a KeyFileError that says why', () => {
  const k = key('ssh-ed25519');
  throwsProblem(() => writePrivateKey(k, { passphrase: 'pw', cipher: 'twofish-cbc' }), 'unsupported-cipher', /"twofish-cbc"/);
  throwsProblem(() => writePrivateKey(k, { passphrase: 'pw', cipher: 'none' }), 'unsupported-cipher');
  throwsProblem(() => writePrivateKey(k, { passphrase: 'pw', rounds: 0 }), 'unsupported-kdf', /outside 1\.\.1024/);
  throwsProblem(() => writePrivateKey(k, { passphrase: 'pw', rounds: MAX_KDF_ROUNDS + 1 }), 'kdf-too-costly');
  throwsProblem(() => writePrivateKey(k, { passphrase: 'pw', rounds: 1.5 }), 'unsupported-kdf');
  throwsProblem(() => writePrivateKey(k, { format: 'pem' }), 'unsupported', /pkcs8/);
  throwsProblem(() => writePrivateKey(key('ssh-rsa'), { format: 'sec1' }), 'unsupported');
  throwsProblem(() => writePrivateKey(key('ecdsa-sha2-nistp256'), { format: 'pkcs1' }), 'unsupported');
  throwsProblem(() => writePrivateKey(key('ssh-rsa'), { format: 'pem', passphrase: 'pw', cipher: 'des-cbc' }), 'unsupported-cipher');
  throwsProblem(() => writePrivateKey(k, { format: 'putty' as PrivateKeyFileFormat }), 'unsupported', /"putty"/);
  throwsProblem(() => writePrivateKey(generateKeyPairSync('x25519').privateKey), 'unknown-key-type', /x25519/);
  throwsProblem(() => writePrivateKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, { format: 'pkcs8' }), 'unknown-key-type');
  throwsProblem(() => writePrivateKey(generateKeyPairSync('ed25519').publicKey), 'not-a-private-key');
  throwsProblem(() => writePrivateKey(k, { passphrase: 42 as unknown as string }), 'unsupported', /string or a Uint8Array/);
});

test('generatePrivateKey makes each type; RSA 3072 by default and not under 2048 unless forced', () => {
  for (const type of TYPES.filter((t) => t !== 'ssh-rsa')) {
    assert.equal(loadPrivateKey(writePrivateKey(generatePrivateKey(type))).keyType, type);
  }
  assert.equal(generatePrivateKey('ecdsa-sha2-nistp384', { bits: 384 }).asymmetricKeyDetails?.namedCurve, 'secp384r1');
  assert.throws(() => generatePrivateKey('ecdsa-sha2-nistp384', { bits: 256 }), RangeError);
  assert.equal(generatePrivateKey('ssh-rsa').asymmetricKeyDetails?.modulusLength, 3072);
  assert.throws(() => generatePrivateKey('ssh-rsa', { bits: 1024 }), /outside 2048\.\.16384 \(smaller keys are weak; force allows them\)/);
  assert.equal(generatePrivateKey('ssh-rsa', { bits: 1024, force: true }).asymmetricKeyDetails?.modulusLength, 1024);
  assert.throws(() => generatePrivateKey('ssh-rsa', { bits: 768, force: true }), /outside 1024\.\.16384/);
  assert.throws(() => generatePrivateKey('ssh-rsa', { bits: 20000 }), RangeError);
  assert.throws(() => generatePrivateKey('ssh-dss' as HostKeyType), RangeError);
});

test("format 'ppk' writes PuTTY's format, and rewritePrivateKey keeps a PPK file a PPK file", () => {
  const k = key('ssh-ed25519');
  const ppk = writePrivateKey(k, { format: 'ppk', comment: 'me' });
  assert.match(ppk, /^PuTTY-User-Key-File-3: ssh-ed25519\r?\nEncryption: none\r?\nComment: me/);
  const changed = rewritePrivateKey(ppk, undefined, { comment: 'you' });
  assert.match(changed, /^PuTTY-User-Key-File-3: ssh-ed25519\r?\nEncryption: none\r?\nComment: you/);
});
