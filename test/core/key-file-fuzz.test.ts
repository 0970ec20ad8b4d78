// Fuzz-style: private key files of every format, cut, bit-flipped, overwritten
// and made up, thousands of them. Only KeyFileError may come out, and a file
// that still loads must be the same key (a flip in a comment, say). Each
// encrypted OpenSSH load runs bcrypt_pbkdf (~20 ms a round), so those get
// few samples; the round count field is not flipped (a flip there only makes
// the KDF slower, up to the cap, which test/node/keys-files.test.ts checks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyFileError, encodePublicKey, generatePrivateKey, loadPrivateKey, writePrivateKey, type HostKeyType, type WritePrivateKeyOptions } from '../../src/keys/index.js';
import { seededRandom } from '../../src/testing/random.js';

const PASS = 'fuzz pass';
const random = seededRandom('key-file-fuzz');
const randInt = (n: number) => Math.floor((new DataView(random(4).buffer).getUint32(0) / 2 ** 32) * n);

interface Base {
  readonly label: string;
  readonly text: string;
  readonly passphrase: string | undefined;
  readonly blob: Uint8Array;
  /** Mutations of the body to try. */
  readonly samples: number;
  /**
   * Whether the file ties its secret to its public key. An Ed25519 PKCS#8
   * file holds only the 32-byte seed, so a flip there is simply another key.
   */
  readonly bound: boolean;
}

function base(type: HostKeyType, options: WritePrivateKeyOptions, samples: number): Base {
  const key = generatePrivateKey(type, { bits: type === 'ssh-rsa' ? 2048 : undefined });
  const passphrase = typeof options.passphrase === 'string' && options.passphrase !== '' ? options.passphrase : undefined;
  const text = writePrivateKey(key, { comment: 'fuzz@host', rounds: 1, ...options });
  const label = `${type} ${options.format ?? 'openssh'}${options.cipher ? ' ' + options.cipher : ''} ${passphrase ? 'encrypted' : 'plain'}`;
  const bound = !(type === 'ssh-ed25519' && options.format === 'pkcs8');
  return { label, text, passphrase, blob: encodePublicKey(key), samples, bound };
}

const BASES: Base[] = [
  base('ssh-ed25519', {}, 1500),
  base('ecdsa-sha2-nistp256', {}, 1000),
  base('ecdsa-sha2-nistp521', {}, 600),
  base('ssh-rsa', {}, 600),
  base('ssh-ed25519', { passphrase: PASS, cipher: 'aes256-ctr' }, 12),
  base('ssh-ed25519', { passphrase: PASS, cipher: 'chacha20-poly1305@openssh.com' }, 12),
  base('ecdsa-sha2-nistp256', { passphrase: PASS, cipher: 'aes256-gcm@openssh.com' }, 12),
  base('ssh-rsa', { format: 'pem' }, 400),
  base('ecdsa-sha2-nistp384', { format: 'pem' }, 400),
  base('ecdsa-sha2-nistp256', { format: 'pem', passphrase: PASS }, 300),
  base('ssh-ed25519', { format: 'pkcs8' }, 400),
  base('ecdsa-sha2-nistp256', { format: 'pkcs8', passphrase: PASS }, 300),
];

/** The armor label, any header lines (Proc-Type, DEK-Info) and the decoded body. */
function split(text: string): { label: string; headers: string; body: Buffer } {
  const label = /-----BEGIN ([A-Z ]+)-----/.exec(text)![1]!;
  const inner = text.slice(text.indexOf('\n') + 1, text.indexOf('-----END'));
  const headers = inner.match(/^[A-Za-z-]+: .*\n/gm)?.join('') ?? '';
  return { label, headers: headers ? headers + '\n' : '', body: Buffer.from(inner.replace(/^[A-Za-z-]+: .*$/gm, '').replace(/\s+/g, ''), 'base64') };
}

function armor(label: string, headers: string, body: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${headers}${Buffer.from(body).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
}

/** Where an openssh-key-v1 body keeps its bcrypt round count (after the salt), or -1. */
function roundsOffset(body: Buffer): number {
  if (body.subarray(0, 15).toString('latin1') !== 'openssh-key-v1\0') return -1;
  let at = 15;
  at += 4 + body.readUInt32BE(at); // cipher
  const kdfLength = body.readUInt32BE(at);
  if (body.subarray(at + 4, at + 4 + kdfLength).toString('latin1') !== 'bcrypt') return -1;
  at += 4 + kdfLength + 4; // KDF name, KDF options length
  return at + 4 + body.readUInt32BE(at); // past the salt
}

let cases = 0;
function attempt(b: Base, text: string | Uint8Array, what: string, sameKey = true): void {
  cases++;
  try {
    const k = loadPrivateKey(text, b.passphrase);
    if (sameKey && b.bound) assert.deepEqual(k.publicBlob, b.blob, `${b.label}: ${what} loaded a different key`);
  } catch (err) {
    if (!(err instanceof KeyFileError)) assert.fail(`${b.label}: ${what} threw ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
    assert.ok(err.message.length > 0 && typeof err.problem === 'string');
  }
}

test('cut, flipped, overwritten and made-up key files give only KeyFileError', () => {
  const t0 = performance.now();
  for (const b of BASES) {
    const { label, headers, body } = split(b.text);
    assert.deepEqual(loadPrivateKey(b.text, b.passphrase).publicBlob, b.blob, b.label);
    const rounds = roundsOffset(body);
    const skipped = (i: number) => rounds >= 0 && i >= rounds && i < rounds + 4;
    const n = b.samples;
    for (let s = 0; s < n; s++) {
      const kind = s % 5;
      if (kind === 0) {
        // the body cut short, re-armored so only the data is missing
        const cut = randInt(body.length);
        attempt(b, armor(label, headers, body.subarray(0, cut)), `cut to ${cut}`);
      } else if (kind === 1 || kind === 2) {
        // one or a few flipped bits
        const bad = Buffer.from(body);
        for (let f = 0; f < kind; f++) {
          const i = randInt(bad.length);
          if (!skipped(i)) bad[i]! ^= 1 << randInt(8);
        }
        attempt(b, armor(label, headers, bad), `flip ${s}`);
      } else if (kind === 3) {
        // a run of random bytes over the body
        const bad = Buffer.from(body);
        const at = randInt(bad.length);
        const run = random(1 + randInt(16));
        for (let i = 0; i < run.length && at + i < bad.length; i++) if (!skipped(at + i)) bad[at + i] = run[i]!;
        attempt(b, armor(label, headers, bad), `overwrite at ${at}`);
      } else {
        // the text itself: cut anywhere, or a character changed
        const chars = b.text.split('');
        if (s % 2) attempt(b, b.text.slice(0, randInt(b.text.length)), `text cut ${s}`);
        else {
          const i = randInt(chars.length);
          chars[i] = String.fromCharCode(32 + randInt(95));
          attempt(b, chars.join(''), `text char ${i}`);
        }
      }
    }
  }
  // made up: random bodies under each label, random bytes, random text
  const plain = BASES[0]!;
  for (let s = 0; s < 1500; s++) {
    const label = ['OPENSSH PRIVATE KEY', 'PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'][s % 5]!;
    const length = randInt(400);
    let body = random(length);
    if (label === 'OPENSSH PRIVATE KEY' && s % 2) body = Buffer.concat([Buffer.from('openssh-key-v1\0'), body]);
    attempt(plain, armor(label, '', body), `random ${label}`, false);
    attempt(plain, random(randInt(600)), 'random bytes', false);
  }
  const elapsed = performance.now() - t0;
  console.log(`# ${cases} mangled key files in ${elapsed.toFixed(0)} ms`);
  assert.ok(cases > 8000);
});
