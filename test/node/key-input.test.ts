// Key material and trust files from users and files that are wrong in ways
// that used to cost time, leak a value or throw something untyped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError, generateHostKey, parseOpenSshPublicKeyLine, signerFromPrivateKeyFile } from '../../src/keys/index.js';
import { excessiveKdf, MAX_KDF_ITERATIONS } from '../../src/keys/pkcs8-kdf.js';
import { parseAuthorizedKeys } from '../../src/trust/index.js';
import { loadSigners, readKnownHosts } from '../../src/client/options.js';
import { MAX_TRUST_FILE_BYTES } from '../../src/io/node/files.js';

/** DER: tag, length, body. */
function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...body]);
}
const seq = (...parts: Uint8Array[]) => tlv(0x30, Uint8Array.from(parts.flatMap((p) => [...p])));
const int = (v: number) => {
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
};
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const PBES2 = oid('2a864886f70d01050d');
const PBKDF2 = oid('2a864886f70d01050c');
const SCRYPT = oid('2b06010401da47040b');
const AES256CBC = seq(oid('60864801650304012a'), tlv(0x04, new Uint8Array(16)));
const salt = tlv(0x04, new Uint8Array(8));
const encrypted = (kdf: Uint8Array) => seq(seq(PBES2, seq(kdf, AES256CBC)), tlv(0x04, new Uint8Array(48)));

test('PKCS#8: the key derivation cost is read from the file before OpenSSL runs it', () => {
  assert.equal(excessiveKdf(encrypted(seq(PBKDF2, seq(salt, int(2048))))), null);
  assert.match(excessiveKdf(encrypted(seq(PBKDF2, seq(salt, int(0x7fffffff))))) ?? '', /2147483647 PBKDF2 iterations/);
  assert.equal(excessiveKdf(encrypted(seq(PBKDF2, seq(salt, int(MAX_KDF_ITERATIONS))))), null);
  assert.equal(excessiveKdf(encrypted(seq(SCRYPT, seq(salt, int(16384), int(8), int(1))))), null);
  assert.match(excessiveKdf(encrypted(seq(SCRYPT, seq(salt, int(16384), int(8), int(1 << 20))))) ?? '', /scrypt with N=16384, r=8, p=1048576/);
  // PKCS#12 PBE (PKCS#5 v1 shape): { salt, iterations }
  const pbe = seq(seq(oid('2a864886f70d010c0103'), seq(salt, int(50_000_000))), tlv(0x04, new Uint8Array(48)));
  assert.match(excessiveKdf(pbe) ?? '', /50000000 key derivation iterations/);
  // Garbage and truncation are left to OpenSSL to refuse.
  assert.equal(excessiveKdf(Uint8Array.of(0x30, 0x84, 0xff)), null);
  assert.equal(excessiveKdf(new Uint8Array(0)), null);

  // End to end: a file claiming 2^31 iterations fails at once, with a typed error.
  const body = Buffer.from(encrypted(seq(PBKDF2, seq(salt, int(0x7fffffff))))).toString('base64');
  const pem = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body.replace(/.{64}/g, '$&\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
  const t0 = performance.now();
  assert.throws(() => signerFromPrivateKeyFile(pem, 'pw'), (e: unknown) => e instanceof KeyFileError && e.problem === 'kdf-too-costly' && /at most 10000000 iterations/.test(e.message));
  assert.ok(performance.now() - t0 < 1000);
});

test('a passphrase that is neither a string nor bytes is refused without quoting it', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
  assert.throws(
    () => signerFromPrivateKeyFile(pem, 918273645 as unknown as string),
    (e: unknown) => e instanceof KeyFileError && /must be a string or a Uint8Array, not number/.test(e.message) && !e.message.includes('918273645'),
  );
});

test('loadSigners: a KeyObject is accepted; null or a foreign object is a typed error before any connection', () => {
  const ko = generateKeyPairSync('ed25519').privateKey;
  const [s] = loadSigners(ko);
  assert.equal(s?.keyType, 'ssh-ed25519');
  assert.equal(loadSigners(generateHostKey('ssh-ed25519'))[0]?.keyType, 'ssh-ed25519');
  for (const bad of [null, {}, { publicBlob: 'x', sign: () => undefined }]) {
    assert.throws(() => loadSigners(bad as never), KeyFileError);
  }
});

test('a public key line with a long run of blanks parses in linear time and keeps its comment', () => {
  const k = generateHostKey('ssh-ed25519');
  const head = `ssh-ed25519 ${Buffer.from(k.publicBlob).toString('base64')}`;
  const t0 = performance.now();
  const parsed = parseOpenSshPublicKeyLine(`${head} a${' '.repeat(60_000)}b`);
  assert.ok(performance.now() - t0 < 200, `${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(parsed.comment, `a${' '.repeat(60_000)}b`);
  assert.equal(parseOpenSshPublicKeyLine(`  ${head}   me@host  x \t`).comment, 'me@host  x');
  assert.equal(parseOpenSshPublicKeyLine(head).comment, '');
  assert.throws(() => parseOpenSshPublicKeyLine('ssh-ed25519'));
});

test('authorized_keys: ports and tunnel numbers sshd refuses make the line refused', () => {
  const key = `ssh-ed25519 ${Buffer.from(generateHostKey('ssh-ed25519').publicBlob).toString('base64')}`;
  for (const opt of ['permitopen="host:0"', 'permitopen="host:99999"', 'permitlisten="0"', 'permitlisten="99999"', 'tunnel="99999999999999"']) {
    const r = parseAuthorizedKeys(`${opt} ${key}\n`);
    assert.equal(r.entries.length, 0, opt);
    assert.equal(r.problems.length, 1, opt);
  }
  for (const opt of ['permitopen="host:22"', 'permitopen="host:*"', 'permitlisten="localhost:8080"', 'permitlisten="*"', 'tunnel="1"', 'tunnel="any"']) {
    assert.equal(parseAuthorizedKeys(`${opt} ${key}\n`).entries.length, 1, opt);
  }
});

test('known_hosts that cannot be read is a typed error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-kh-'));
  try {
    assert.throws(() => readKnownHosts(dir), (e: unknown) => e instanceof KeyFileError && e.path === dir && e.problem === 'io');
    // A sparse file past the limit: refused from its size, nothing read.
    const huge = join(dir, 'huge');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_TRUST_FILE_BYTES + 1);
    assert.throws(() => readKnownHosts(huge), (e: unknown) => e instanceof KeyFileError && e.path === huge && /larger than 128 MiB/.test(e.message));
    // A file the caller named that does not exist yet lists no hosts.
    assert.deepEqual(readKnownHosts(join(dir, 'none')), { path: join(dir, 'none'), text: '' });
    writeFileSync(join(dir, 'kh'), 'host ssh-ed25519 AAAA\n');
    assert.deepEqual(readKnownHosts(join(dir, 'kh')), { path: join(dir, 'kh'), text: 'host ssh-ed25519 AAAA\n' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
