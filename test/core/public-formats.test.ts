import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rsaKeyPair } from './rsa-key.js';
import { encodePublicKey, generateHostKey, KeyFileError } from '../../src/keys/index.js';
import {
  formatPemPublicKey,
  formatPkcs1PublicKey,
  formatPkcs8PublicKey,
  formatPublicKeyText,
  formatRfc4716PublicKey,
  parsePublicKeyText,
  rfc4716ConversionComment,
  MAX_PUBLIC_KEY_TEXT,
  type PublicKeyFormat,
} from '../../src/keys/public-formats.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from './fuzz-helpers.js';

const blobs = {
  ed25519: generateHostKey('ssh-ed25519').publicBlob,
  p256: generateHostKey('ecdsa-sha2-nistp256').publicBlob,
  p384: generateHostKey('ecdsa-sha2-nistp384').publicBlob,
  p521: generateHostKey('ecdsa-sha2-nistp521').publicBlob,
  rsa: generateHostKey('ssh-rsa', 2048).publicBlob,
};
const skBlob = new Writer()
  .string('sk-ssh-ed25519@openssh.com')
  .string(blobs.ed25519.subarray(19))
  .string('ssh:')
  .finish();
// a certificate's head: type, nonce and the key; the rest (serial on) is not read here
const certBlob = new Writer()
  .string('ecdsa-sha2-nistp256-cert-v01@openssh.com')
  .string(new Uint8Array(32))
  .raw(blobs.p256.subarray(4 + 19))
  .uint64(1n)
  .finish();

function rejects(text: string, problem: string, message: RegExp): void {
  assert.throws(
    () => parsePublicKeyText(text),
    (err: unknown) => err instanceof KeyFileError && err.problem === problem && message.test(err.message),
  );
}

test('every key type goes through every form and back to the same blob', () => {
  for (const [name, blob] of Object.entries(blobs)) {
    const formats: PublicKeyFormat[] = name === 'rsa' ? ['openssh', 'rfc4716', 'pkcs8', 'pkcs1'] : ['openssh', 'rfc4716', 'pkcs8'];
    for (const format of formats) {
      const text = formatPublicKeyText(blob, format, 'me@host');
      const back = parsePublicKeyText(text);
      assert.equal(back.format, format, `${name} ${format}`);
      assert.deepEqual(back.blob, blob, `${name} ${format}`);
      assert.equal(back.comment, format === 'openssh' || format === 'rfc4716' ? 'me@host' : '');
    }
  }
  assert.equal(formatPemPublicKey(blobs.rsa), formatPkcs1PublicKey(blobs.rsa));
  assert.equal(formatPemPublicKey(blobs.p256), formatPkcs8PublicKey(blobs.p256));
});

test('RFC 4716 is written as ssh-keygen -e does: quoted Comment, base64 in lines of 70', () => {
  const text = formatRfc4716PublicKey(blobs.rsa, rfc4716ConversionComment(blobs.rsa, 'alice', 'box'));
  const lines = text.split('\n');
  assert.equal(lines[0], '---- BEGIN SSH2 PUBLIC KEY ----');
  assert.equal(lines[1], 'Comment: "2048-bit RSA, converted by alice@box from OpenSSH"');
  assert.equal(lines.at(-2), '---- END SSH2 PUBLIC KEY ----');
  assert.equal(lines.at(-1), '');
  const body = lines.slice(2, -2);
  for (const l of body.slice(0, -1)) assert.equal(l.length, 70);
  assert.ok(body.at(-1)!.length <= 70);
  assert.equal(formatRfc4716PublicKey(blobs.ed25519).split('\n')[1]!.startsWith('AAAA'), true, 'no comment, no header');
  assert.throws(() => formatRfc4716PublicKey(blobs.ed25519, 'a\nb'), RangeError);
});

test('RFC 4716 headers: continuation lines, unquoted comments, other tags kept, CRLF', () => {
  const b64 = Buffer.from(blobs.p256).toString('base64');
  const text = [
    '---- BEGIN SSH2 PUBLIC KEY ----',
    'Subject: alice',
    'Comment: "a comment that goes on \\',
    'and on"',
    'x-private: one\\',
    'two',
    b64.slice(0, 40),
    b64.slice(40),
    '---- END SSH2 PUBLIC KEY ----',
    '',
  ].join('\r\n');
  const parsed = parsePublicKeyText(text);
  assert.equal(parsed.comment, 'a comment that goes on and on');
  assert.deepEqual(parsed.headers, [
    { tag: 'Subject', value: 'alice' },
    { tag: 'x-private', value: 'onetwo' },
  ]);
  assert.deepEqual(parsed.blob, blobs.p256);
  const unquoted = text.replace('Comment: "a comment that goes on \\\r\nand on"', 'Comment: plain words');
  assert.equal(parsePublicKeyText(unquoted).comment, 'plain words');
});

test('bad RFC 4716 input is a KeyFileError saying what is wrong', () => {
  const good = formatRfc4716PublicKey(blobs.ed25519, 'c');
  rejects(good.replace('---- END SSH2 PUBLIC KEY ----\n', ''), 'malformed', /truncated/);
  rejects(good.replace('AAAA', 'AA!A'), 'malformed', /base64/);
  rejects('---- BEGIN SSH2 PUBLIC KEY ----\n---- END SSH2 PUBLIC KEY ----\n', 'malformed', /base64/);
  rejects(good.replace('---- END', 'Late: header\n---- END'), 'malformed', /header line after/);
  rejects(good.replace('Comment: "c"', `Comment: "${'x'.repeat(1100)}"`), 'malformed', /too long/);
  rejects('---- BEGIN SSH2 PUBLIC KEY ----\nComment: "c\\', 'malformed', /continues past the end/);
  const dss = Buffer.from(new Writer().string('ssh-dss').string('x').finish()).toString('base64');
  rejects(`---- BEGIN SSH2 PUBLIC KEY ----\n${dss}\n---- END SSH2 PUBLIC KEY ----\n`, 'unsupported', /ssh-dss/);
  rejects('x'.repeat(MAX_PUBLIC_KEY_TEXT + 1), 'malformed', /at most/);
});

test('PEM public keys: PKCS#1 only for RSA, no PEM for security keys, foreign curves unsupported', () => {
  assert.throws(() => formatPkcs1PublicKey(blobs.p256), (e: unknown) => e instanceof KeyFileError && e.problem === 'unsupported');
  assert.throws(() => formatPkcs8PublicKey(skBlob), (e: unknown) => e instanceof KeyFileError && e.problem === 'unsupported');
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  rejects(k1, 'unsupported', /curve/);
  const small = rsaKeyPair(512).publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  rejects(small, 'malformed', /512 bits/);
  rejects('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'malformed', /corrupt DER/);
  rejects('-----BEGIN PUBLIC KEY-----\nAAAA\n', 'malformed', /BEGIN and END/);
  const priv = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  rejects(priv, 'malformed', /private key/);
});

test('the OpenSSH line form: detected, comment kept, security keys read', () => {
  const line = formatPublicKeyText(skBlob, 'openssh', 'token key');
  assert.match(line, /^sk-ssh-ed25519@openssh\.com AAAA\S+ token key\n$/);
  const parsed = parsePublicKeyText('\n  ' + line);
  assert.equal(parsed.format, 'openssh');
  assert.deepEqual(parsed.blob, skBlob);
  assert.equal(parsed.comment, 'token key');
  assert.deepEqual(parsePublicKeyText(formatRfc4716PublicKey(skBlob)).blob, skBlob);
  rejects('hello world', 'malformed', /not a public key/);
  rejects('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==', 'malformed', /Ed25519/);
});

test('fuzz: mutated RFC 4716, PEM and OpenSSH public keys give only KeyFileError', () => {
  const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  const samples = [
    ...Object.values(blobs).map((b) => enc(formatRfc4716PublicKey(b, 'comment'))),
    enc(formatPkcs8PublicKey(blobs.p256)),
    enc(formatPkcs8PublicKey(blobs.ed25519)),
    enc(formatPkcs1PublicKey(blobs.rsa)),
    enc(formatPublicKeyText(blobs.p384, 'openssh', 'c')),
    enc(formatPublicKeyText(skBlob, 'openssh', 'c')),
    enc(formatPublicKeyText(certBlob, 'rfc4716', 'c')),
  ];
  const n = fuzz('public-formats', samples, 6000, (input) => parsePublicKeyText(Buffer.from(input).toString('latin1')), (e) => e instanceof KeyFileError);
  assert.ok(n > 6000);
});

test('an encoded blob of a KeyObject reads back through PEM', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.deepEqual(parsePublicKeyText(pem).blob, encodePublicKey(publicKey));
});

test('certificates are read by the key they certify; PEM forms hold that key, as ssh-keygen writes them', () => {
  const line = formatPublicKeyText(certBlob, 'openssh', 'c');
  assert.match(line, /^ecdsa-sha2-nistp256-cert-v01@openssh\.com /);
  assert.deepEqual(parsePublicKeyText(line).blob, certBlob);
  assert.deepEqual(parsePublicKeyText(formatRfc4716PublicKey(certBlob)).blob, certBlob);
  assert.deepEqual(parsePublicKeyText(formatPkcs8PublicKey(certBlob)).blob, blobs.p256);
  assert.equal(formatPemPublicKey(certBlob), formatPkcs8PublicKey(blobs.p256));
  const cut = formatRfc4716PublicKey(certBlob.subarray(0, 80));
  rejects(cut, 'malformed', /runs past the end/);
  const badPoint = new Uint8Array(certBlob);
  badPoint[4 + 40 + 4 + 32 + 4 + 8 + 4] = 0x05; // the point's 0x04 prefix
  rejects(formatRfc4716PublicKey(badPoint), 'malformed', /uncompressed point/);
});
