// Private key files as users have them: made by the real ssh-keygen in every
// format, with and without a passphrase, then mangled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rsaKeyPair } from '../core/rsa-key.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KeyFileError,
  loadPrivateKey,
  parseOpenSshPublicKeyLine,
  signerFromPrivateKeyFile,
  verifySignature,
  type HostKeyType,
  type KeyFileProblem,
  type KeySigner,
} from '../../src/keys/index.js';
import { ProtocolError } from '../../src/errors.js';
import { loadPrivateKeyFile, signerFromPrivateKeyPath } from '../../src/io/node/key-files.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { SSH_KEYGEN, KEYGEN_CASES, keygenSkip, opensshPrivateSectionStart } from '../core/keygen-cases.js';

const skip = keygenSkip('keys-files.test');

const PASS = 'correct horse battery';

const TYPES = KEYGEN_CASES;

const dir = mkdtempSync(join(tmpdir(), 'nacre-keyfiles-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

/** Runs ssh-keygen to make a key; returns its path. `-a 2` keeps the JS bcrypt_pbkdf quick. */
function keygen(args: string[], passphrase: string, extra: string[] = ['-a', '2']): string {
  const path = join(dir, `k${serial++}`);
  execFileSync(SSH_KEYGEN, ['-q', ...args, ...extra, '-N', passphrase, '-C', 'test comment', '-f', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  return path;
}

function pubBlob(path: string): Uint8Array {
  return parseOpenSshPublicKeyLine(readFileSync(path + '.pub', 'utf8')).blob;
}

function assertSigns(signer: KeySigner, label: string): void {
  const data = randomBytes(100);
  for (const alg of signer.algorithms) {
    const sig = signer.sign(alg, data);
    assert.ok(verifySignature(signer.publicBlob, alg, data, sig), `${label}: ${alg} verifies`);
    assert.ok(!verifySignature(signer.publicBlob, alg, randomBytes(100), sig), `${label}: ${alg} rejects other data`);
  }
}

function throwsKeyFileError(f: () => unknown, problem?: KeyFileProblem, message?: RegExp, label = ''): KeyFileError {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeyFileError, `${label}: expected KeyFileError, got ${String(caught)}`);
  if (problem) assert.equal(caught.problem, problem, `${label}: ${caught.message}`);
  if (message) assert.match(caught.message, message, label);
  return caught;
}

test('every key type and format ssh-keygen writes, with and without a passphrase', { skip }, () => {
  for (const [label, args, type] of TYPES) {
    const formats = type === 'ssh-ed25519' ? ['openssh'] : ['openssh', 'PEM', 'PKCS8'];
    for (const format of formats) {
      for (const pass of ['', PASS]) {
        const name = `${label}/${format}/${pass ? 'encrypted' : 'plain'}`;
        const path = keygen([...args, ...(format === 'openssh' ? [] : ['-m', format])], pass);
        const text = readFileSync(path, 'utf8');
        const expectedHead = { openssh: 'OPENSSH PRIVATE KEY', PEM: type === 'ssh-rsa' ? 'RSA PRIVATE KEY' : 'EC PRIVATE KEY', PKCS8: pass ? 'ENCRYPTED PRIVATE KEY' : 'PRIVATE KEY' }[format]!;
        assert.ok(text.startsWith(`-----BEGIN ${expectedHead}-----`), `${name}: ${text.slice(0, 40)}`);

        const key = loadPrivateKey(text, pass || undefined);
        assert.equal(key.keyType, type, name);
        assert.equal(key.encrypted, pass !== '', name);
        assert.deepEqual(key.publicBlob, pubBlob(path), name);
        if (format === 'openssh') assert.equal(key.comment, 'test comment');
        const signer = signerFromPrivateKeyFile(readFileSync(path), pass ? new TextEncoder().encode(pass) : undefined);
        assert.deepEqual(signer.publicBlob, key.publicBlob, name);
        assertSigns(signer, name);

        if (pass) {
          throwsKeyFileError(() => loadPrivateKey(text), 'passphrase-required', /^encrypted key: a passphrase is required$/, name);
          throwsKeyFileError(() => loadPrivateKey(text, ''), 'passphrase-required', undefined, name);
          throwsKeyFileError(() => loadPrivateKey(text, 'not the passphrase'), 'wrong-passphrase', /wrong passphrase/, name);
        } else {
          // ssh-keygen also ignores a passphrase given for a plain key
          assert.deepEqual(loadPrivateKey(text, 'unused').publicBlob, key.publicBlob);
        }
      }
    }
  }
});

test('ssh-keygen default KDF rounds (16) and every cipher ssh-keygen -Z offers', { skip }, () => {
  const path = keygen(['-t', 'ed25519'], PASS, []);
  const t0 = performance.now();
  assert.deepEqual(loadPrivateKey(readFileSync(path), PASS).publicBlob, pubBlob(path));
  console.log(`# bcrypt_pbkdf, 16 rounds (ssh-keygen default), load took ${(performance.now() - t0).toFixed(0)} ms`);

  const ciphers = ['aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', '3des-cbc'];
  for (const cipher of ciphers) {
    let p: string;
    try {
      p = keygen(['-t', 'ecdsa', '-b', '384'], PASS, ['-a', '2', '-Z', cipher]);
    } catch {
      console.warn(`!!! keys-files.test: this ssh-keygen cannot write ${cipher}; not tested`);
      continue;
    }
    const text = readFileSync(p, 'utf8');
    const key = loadPrivateKey(text, PASS);
    assert.deepEqual(key.publicBlob, pubBlob(p), cipher);
    assertSigns(signerFromPrivateKeyFile(text, PASS), cipher);
    throwsKeyFileError(() => loadPrivateKey(text, PASS + 'x'), 'wrong-passphrase', /wrong passphrase/, cipher);
  }
});

test('non-ASCII passphrases are their UTF-8 bytes, as ssh-keygen -N passes them', { skip }, () => {
  const pass = 'pässwörd ünïcödé ✓';
  const path = keygen(['-t', 'ed25519'], pass);
  assert.deepEqual(loadPrivateKey(readFileSync(path), pass).publicBlob, pubBlob(path));
  assert.deepEqual(loadPrivateKey(readFileSync(path), Buffer.from(pass, 'utf8')).publicBlob, pubBlob(path));
  throwsKeyFileError(() => loadPrivateKey(readFileSync(path), Buffer.from(pass, 'latin1')), 'wrong-passphrase');
});

test('loadPrivateKeyFile and signerFromPrivateKeyPath name the path in errors', { skip }, () => {
  const path = keygen(['-t', 'ecdsa', '-b', '256'], PASS);
  assert.deepEqual(loadPrivateKeyFile(path, PASS).publicBlob, pubBlob(path));
  assertSigns(signerFromPrivateKeyPath(path, PASS), 'from path');
  const e = throwsKeyFileError(() => loadPrivateKeyFile(path), 'passphrase-required');
  assert.equal(e.path, path);
  assert.equal(e.message, `${path}: encrypted key: a passphrase is required`);
  assert.equal(e.detail, 'encrypted key: a passphrase is required');
  const wrong = throwsKeyFileError(() => signerFromPrivateKeyPath(path, 'nope'), 'wrong-passphrase');
  assert.ok(wrong.message.startsWith(path + ': wrong passphrase'));
  const missing = throwsKeyFileError(() => loadPrivateKeyFile(join(dir, 'no-such-key')), 'io', /no-such-key: cannot read key file \(no such file\)/);
  assert.equal(missing.path, join(dir, 'no-such-key'));
  throwsKeyFileError(() => loadPrivateKeyFile(dir), 'not-a-private-key', /not a regular file/);
  throwsKeyFileError(() => loadPrivateKeyFile(path + '.pub'), 'not-a-private-key', /\.pub: not a private key file: this is an OpenSSH public key/);
  // the contents-taking loader hints when it is handed a path
  throwsKeyFileError(() => loadPrivateKey(path), 'not-a-private-key', /use loadPrivateKeyFile/);
});

test('PEM and PKCS#8 files made by node:crypto, including encrypted Ed25519 PKCS#8', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const plain = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const enc = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
  const a = loadPrivateKey(plain);
  const b = loadPrivateKey(enc, PASS);
  assert.deepEqual(a.publicBlob, b.publicBlob);
  assert.equal(b.keyType, 'ssh-ed25519');
  assert.equal(b.format, 'pkcs8');
  throwsKeyFileError(() => loadPrivateKey(enc), 'passphrase-required');
  throwsKeyFileError(() => loadPrivateKey(enc, 'wrong'), 'wrong-passphrase');

  const rsa = rsaKeyPair(2048).privateKey;
  const legacy = rsa.export({ format: 'pem', type: 'pkcs1', cipher: 'aes-128-cbc', passphrase: PASS }) as string;
  assert.match(legacy, /Proc-Type: 4,ENCRYPTED/);
  assertSigns(signerFromPrivateKeyFile(legacy, PASS), 'legacy PEM');
  throwsKeyFileError(() => loadPrivateKey(legacy), 'passphrase-required');

  // key types SSH cannot use here are refused by name
  const dsa = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  throwsKeyFileError(() => loadPrivateKey(dsa), 'unknown-key-type', /unknown key type.*dsa/);
  const x25519 = generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  throwsKeyFileError(() => loadPrivateKey(x25519), 'unknown-key-type', /x25519/);
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'sec1' }) as string;
  throwsKeyFileError(() => loadPrivateKey(k1), 'unknown-key-type', /curve/);
  const small = rsaKeyPair(768).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
  throwsKeyFileError(() => loadPrivateKey(small), 'unsupported', /768 bits/);
});

test('not key files: garbage, public keys, other PEM blocks, PuTTY, oversized', () => {
  throwsKeyFileError(() => loadPrivateKey(''), 'not-a-private-key', /^not a private key file \(no BEGIN line\)$/);
  throwsKeyFileError(() => loadPrivateKey(randomBytes(300)), 'not-a-private-key');
  throwsKeyFileError(() => loadPrivateKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@host\n'), 'not-a-private-key', /public key/);
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), 'not-a-private-key', /PUBLIC KEY/);
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'not-a-private-key');
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN PGP PRIVATE KEY BLOCK-----\n'), 'unsupported', /PGP PRIVATE KEY BLOCK/);
  // PuTTY files are read (ppk.ts); a bare header line is a truncated one, an old version unsupported
  throwsKeyFileError(() => loadPrivateKey('PuTTY-User-Key-File-3: ssh-ed25519\n'), 'malformed', /truncated/);
  throwsKeyFileError(() => loadPrivateKey('PuTTY-User-Key-File-1: ssh-rsa\n'), 'unsupported', /PuTTY key file version 1/);
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'malformed');
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nMIIB\n'), 'truncated', /truncated/);
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\n'), 'truncated', /truncated/);
  throwsKeyFileError(() => loadPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n'), 'malformed', /not base64/);
  throwsKeyFileError(() => loadPrivateKey('x'.repeat((1 << 20) + 1)), 'too-large', /larger than 1 MiB/);
  // KeyFileError stays a ProtocolError for code written against the earlier loader
  assert.throws(() => loadPrivateKey('hello'), ProtocolError);
});

function body(text: string): Buffer {
  return Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64');
}
function armor(label: string, b: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(b).toString('base64').replace(/(.{70})/g, '$1\n')}\n-----END ${label}-----\n`;
}

/** Where the bcrypt round count sits in an openssh-key-v1 body, or -1. */
function kdfRoundsOffset(der: Uint8Array): number {
  if (Buffer.from(der.subarray(0, 14)).toString('latin1') !== 'openssh-key-v1') return -1;
  const r = new Reader(der);
  r.raw(15);
  r.string();
  if (r.text() !== 'bcrypt') return -1;
  r.uint32();
  r.string();
  return r.position;
}

test('truncated and bit-flipped files are KeyFileError or load the same key, never anything else', { skip }, () => {
  const cases: [string, string, string | undefined][] = [];
  for (const [args, format, pass] of [
    [['-t', 'ed25519'], 'openssh', undefined],
    [['-t', 'ed25519'], 'openssh', PASS],
    [['-t', 'ecdsa', '-b', '256'], 'openssh', PASS],
    [['-t', 'rsa', '-b', '2048'], 'openssh', undefined],
    [['-t', 'ecdsa', '-b', '384'], 'PEM', undefined],
    [['-t', 'rsa', '-b', '2048'], 'PKCS8', undefined],
    [['-t', 'rsa', '-b', '2048'], 'PKCS8', PASS],
  ] as const) {
    const path = keygen([...args, ...(format === 'openssh' ? [] : ['-m', format])], pass ?? '', ['-a', '1']);
    cases.push([readFileSync(path, 'utf8'), `${args.join(' ')} ${format} ${pass ? 'encrypted' : 'plain'}`, pass]);
  }
  for (const [text, label, pass] of cases) {
    const good = loadPrivateKey(text, pass).publicBlob;
    const pemLabel = /-----BEGIN ([A-Z ]+)-----/.exec(text)![1]!;
    const der = body(text);
    assert.ok(!text.includes('Proc-Type'), 'legacy PEM headers would be lost by re-armoring');
    // each encrypted OpenSSH load runs bcrypt_pbkdf (about 20 ms a round), so those get fewer samples
    const samples = pass && pemLabel === 'OPENSSH PRIVATE KEY' ? 20 : 100;
    // truncations at many lengths, re-armored so only the data is short
    for (let n = 0; n < der.length; n += Math.max(1, Math.floor(der.length / samples))) {
      throwsKeyFileError(() => loadPrivateKey(armor(pemLabel, der.subarray(0, n)), pass), undefined, undefined, `${label} cut to ${n}`);
    }
    // the text itself cut mid-line (no END line)
    throwsKeyFileError(() => loadPrivateKey(text.slice(0, text.length / 2), pass), 'truncated', /truncated/, label);
    // flipped bits across the whole body: either refused, or (in a comment, say) the same key
    const step = Math.max(1, Math.floor(der.length / samples));
    const rounds = kdfRoundsOffset(der);
    for (let i = 0; i < der.length; i += step) {
      // a flipped round count only makes bcrypt_pbkdf slow (up to the cap), and the cap is tested below
      if (rounds >= 0 && i >= rounds && i < rounds + 4) continue;
      const bad = Buffer.from(der);
      bad[i]! ^= 1 << (i % 8);
      try {
        const k = loadPrivateKey(armor(pemLabel, bad), pass);
        assert.deepEqual(k.publicBlob, good, `${label}: flip at ${i} loaded a different key`);
      } catch (err) {
        assert.ok(err instanceof KeyFileError, `${label}: flip at ${i} threw ${String(err)}`);
      }
    }
  }
});

/** Re-serializes an openssh-key-v1 file with some header fields replaced. */
function rebuild(text: string, change: { cipher?: string; kdf?: string; kdfOptions?: Uint8Array; count?: number }): string {
  const r = new Reader(new Uint8Array(body(text)));
  const magic = r.raw(15);
  const cipher = r.text();
  const kdf = r.text();
  const kdfOptions = r.string();
  r.uint32();
  const pub = r.string();
  const rest = r.rest();
  const w = new Writer()
    .raw(magic)
    .string(change.cipher ?? cipher)
    .string(change.kdf ?? kdf)
    .string(change.kdfOptions ?? kdfOptions)
    .uint32(change.count ?? 1)
    .string(pub)
    .raw(rest);
  return armor('OPENSSH PRIVATE KEY', w.finish());
}

test('hostile or unsupported OpenSSH headers are refused by name, quickly', { skip }, () => {
  const enc = readFileSync(keygen(['-t', 'ed25519'], PASS), 'utf8');
  const plain = readFileSync(keygen(['-t', 'ed25519'], ''), 'utf8');
  throwsKeyFileError(() => loadPrivateKey(rebuild(enc, { cipher: 'twofish256-cbc' }), PASS), 'unsupported-cipher', /unsupported cipher "twofish256-cbc"/);
  throwsKeyFileError(() => loadPrivateKey(rebuild(enc, { kdf: 'scrypt' }), PASS), 'unsupported-kdf', /unsupported KDF "scrypt"/);
  throwsKeyFileError(() => loadPrivateKey(rebuild(plain, { count: 2 })), 'unsupported', /holds 2 keys/);
  const t0 = performance.now();
  const huge = new Writer().string(new Uint8Array(16)).uint32(0xffffffff).finish();
  throwsKeyFileError(() => loadPrivateKey(rebuild(enc, { kdfOptions: huge }), PASS), 'kdf-too-costly', /rounds 4294967295 are outside 1\.\.1024/);
  assert.ok(performance.now() - t0 < 200, 'the round count is checked before any work');
  const noSalt = new Writer().string(new Uint8Array(0)).uint32(16).finish();
  throwsKeyFileError(() => loadPrivateKey(rebuild(enc, { kdfOptions: noSalt }), PASS), 'malformed');
  throwsKeyFileError(() => loadPrivateKey(rebuild(enc, { kdfOptions: new Uint8Array(3) }), PASS), 'truncated', /truncated/);
  // a plain file whose check bytes disagree is corrupt, not a passphrase problem
  const der = body(plain);
  const bad = Buffer.from(der);
  bad[opensshPrivateSectionStart(new Uint8Array(der))]! ^= 1;
  throwsKeyFileError(() => loadPrivateKey(armor('OPENSSH PRIVATE KEY', bad)), 'malformed', /corrupt key file \(check bytes do not match\)/);
});
