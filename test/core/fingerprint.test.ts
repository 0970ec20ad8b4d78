import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  certifiedKey,
  describePublicKey,
  fingerprint,
  fingerprintMd5,
  fingerprintSha256,
  randomart,
  randomartFromDigest,
} from '../../src/keys/fingerprint.js';
import { fingerprintSha256 as fromBlobModule } from '../../src/keys/blob.js';
import { Writer } from '../../src/wire/writer.js';
import { ProtocolError } from '../../src/errors.js';
import { fuzz } from './fuzz-helpers.js';

// `ssh-keygen -lv` of this key (OpenSSH 10), for a check without the binary
const ED25519 = new Uint8Array(Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAICT9ZUfz1Az58Np7z9heiINvBuDCDluAwZpgFJCRm6Yg', 'base64'));
const SHA256_ART = [
  '+--[ED25519 256]--+',
  '|BB+oo+.+o        |',
  '|B**+..o.         |',
  '|=o=oo o + .      |',
  '|.+ o.= B o .     |',
  '|..  B o S + .    |',
  '|. E. o = o . .   |',
  '|      o .   o    |',
  '|           .     |',
  '|                 |',
  '+----[SHA256]-----+',
].join('\n');

test('SHA256 and MD5 fingerprints are printed as ssh-keygen -l does', () => {
  assert.equal(fingerprintSha256(ED25519), 'SHA256:Bu9l/BYgismWIAcaxHjMD1nTBdjlJuulENhgiIVji9o');
  assert.equal(fingerprint(ED25519), fingerprintSha256(ED25519));
  assert.equal(fromBlobModule, fingerprintSha256, 'blob.ts keeps exporting it');
  const md5 = fingerprintMd5(ED25519);
  assert.match(md5, /^MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
  assert.equal(fingerprint(ED25519, 'md5'), md5);
});

test('randomart of a known key equals ssh-keygen -lv byte for byte', () => {
  assert.equal(randomart(ED25519), SHA256_ART);
  assert.equal(randomart(ED25519, 'sha256'), SHA256_ART);
  assert.equal(
    randomart(ED25519, 'md5'),
    [
      '+--[ED25519 256]--+',
      '|       .oo.      |',
      '|E     .  o       |',
      '| . . .  . o      |',
      '|  . .    +       |',
      '|      . S .      |',
      '|       = . . o   |',
      '|      . . o = .  |',
      '|       ... + . . |',
      '|     .+o .o.o..  |',
      '+------[MD5]------+',
    ].join('\n'),
  );
  assert.equal(fingerprintMd5(ED25519), 'MD5:f2:d4:ee:71:fc:81:e9:ab:a2:be:51:c5:12:05:a8:08');
});

test('randomart: the walk stays in the field, S marks the start and E the end', () => {
  // all-zero bytes walk up-left to the top row, along it to the corner, and stay there
  const art = randomartFromDigest(new Uint8Array(32), 'X 1', 'H').split('\n');
  assert.equal(art.length, 11);
  assert.equal(art[1], '|E....            |');
  assert.equal(art[2], '|     .           |');
  assert.equal(art[5], '|        S        |');
  for (const line of art) assert.equal(line.length, 19);
  // no digest: the bishop ends where it starts, so E overwrites S
  assert.equal(randomartFromDigest(new Uint8Array(0), 'X 1', 'H').split('\n')[5], '|        E        |');
});

test('randomart titles: too long for 17 columns falls back to the type alone, then is cut as snprintf does', () => {
  const head = (title: string) => randomartFromDigest(new Uint8Array(1), title, 'SHA256').split('\n')[0];
  assert.equal(head('ED25519-SK 256'), '+[ED25519-SK 256]-+');
  assert.equal(head('ED25519-CERT 256'), '+-[ED25519-CERT]--+');
  assert.equal(head('ED25519-SK-CERT 256'), '+[ED25519-SK-CERT-+');
  assert.equal(head('RSA 3072'), '+---[RSA 3072]----+');
});

test('describePublicKey names types and sizes as ssh-keygen -l does', () => {
  assert.deepEqual(describePublicKey(ED25519), { type: 'ssh-ed25519', shortName: 'ED25519', bits: 256 });
  const n = new Uint8Array(257);
  n[1] = 0x80; // 2048-bit modulus with a leading zero byte in the mpint
  const rsa = new Writer().string('ssh-rsa').mpintFromBytes(new Uint8Array([1, 0, 1])).mpintFromBytes(n.subarray(1)).finish();
  assert.deepEqual(describePublicKey(rsa), { type: 'ssh-rsa', shortName: 'RSA', bits: 2048 });
  const sk = new Writer().string('sk-ecdsa-sha2-nistp256@openssh.com').finish();
  assert.equal(describePublicKey(sk).bits, 256);
  assert.throws(() => describePublicKey(new Writer().string('ssh-dss').finish()), ProtocolError);
  assert.throws(() => describePublicKey(new Writer().string('ssh-rsa').finish()), ProtocolError);
  assert.throws(() => randomart(new Uint8Array([0, 0, 0])), ProtocolError);
});

test('a certificate is fingerprinted by the key it certifies, under a -CERT title', () => {
  const pk = ED25519.subarray(19);
  const cert = new Writer()
    .string('ssh-ed25519-cert-v01@openssh.com')
    .string(new Uint8Array(32))
    .string(pk)
    .uint64(1n)
    .finish();
  assert.deepEqual(certifiedKey(cert), ED25519);
  assert.equal(fingerprint(cert), fingerprintSha256(ED25519));
  assert.notEqual(fingerprintSha256(cert), fingerprintSha256(ED25519), 'the raw hash stays a hash of the blob');
  assert.equal(randomart(cert), SHA256_ART.replace('+--[ED25519 256]--+', '+-[ED25519-CERT]--+'));
  assert.equal(certifiedKey(ED25519), undefined);
  assert.equal(certifiedKey(new Uint8Array([1])), undefined);
  assert.throws(() => certifiedKey(cert.subarray(0, 60)), ProtocolError);
});

test('fuzz: describePublicKey, certifiedKey and randomart give only ProtocolError', () => {
  const n = new Uint8Array(257);
  n[1] = 0xc1;
  const rsa = new Writer().string('ssh-rsa').mpintFromBytes(new Uint8Array([1, 0, 1])).mpintFromBytes(n.subarray(1)).finish();
  const cert = new Writer().string('ssh-rsa-cert-v01@openssh.com').string(new Uint8Array(32)).mpintFromBytes(new Uint8Array([3])).mpintFromBytes(n.subarray(1)).finish();
  const count = fuzz('fingerprint', [ED25519, rsa, cert], 6000, (b) => {
    describePublicKey(b);
    certifiedKey(b);
    randomart(b, 'md5');
  }, (e) => e instanceof ProtocolError);
  assert.ok(count > 6000);
});
