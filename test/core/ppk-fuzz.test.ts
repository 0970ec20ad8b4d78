// Fuzz-style tests of the PPK reader: random, truncated, bit-flipped and
// re-MACed inputs may only ever give KeyFileError. The encrypted seeds use
// Argon2 costs of a few dozen KiB, so thousands of cases take seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { KeyFileError, parsePpkPrivateKey } from '../../src/keys/index.js';
import { seededRandom } from '../../src/testing/random.js';
import { Writer } from '../../src/wire/writer.js';
import { PPK_VECTORS, PPK_VECTOR_PASSPHRASE } from './ppk-vectors.js';

const encoder = new TextEncoder();

function expectOnlyKeyFileError(input: string | Uint8Array, label: string): void {
  try {
    parsePpkPrivateKey(input, PPK_VECTOR_PASSPHRASE);
  } catch (err) {
    assert.ok(err instanceof KeyFileError, `${label}: ${String(err)}`);
  }
}

function randomSource(seed: string): { byte: () => number; below: (n: number) => number; bytes: (n: number) => Uint8Array } {
  const random = seededRandom(seed);
  const byte = (): number => random(1)[0]!;
  return { byte, below: (n) => (byte() * 65536 + byte() * 256 + byte()) % n, bytes: (n) => random(n) };
}

test('bit-flipped, overwritten and truncated PPK files only give KeyFileError', () => {
  const r = randomSource('ppk-fuzz-bytes');
  const seeds = PPK_VECTORS.map((v) => encoder.encode(v.file));
  for (let i = 0; i < 4000; i++) {
    const file = seeds[i % seeds.length]!.slice();
    for (let j = 1 + (r.byte() % 3); j > 0; j--) {
      const at = r.below(file.length);
      if (r.byte() < 160) file[at]! ^= 1 << (r.byte() % 8);
      else file[at] = r.byte();
    }
    const cut = r.byte() < 48 ? file.subarray(0, r.below(file.length + 1)) : file;
    expectOnlyKeyFileError(cut, `case ${i}`);
  }
});

test('PPK files with lines dropped, repeated or swapped only give KeyFileError', () => {
  const r = randomSource('ppk-fuzz-lines');
  for (let i = 0; i < 2000; i++) {
    const lines = PPK_VECTORS[i % PPK_VECTORS.length]!.file.split('\n');
    const a = r.below(lines.length);
    const b = r.below(lines.length);
    const op = r.byte() % 3;
    if (op === 0) lines.splice(a, 1);
    else if (op === 1) lines.splice(a, 0, lines[b]!);
    else [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    expectOnlyKeyFileError(lines.join('\n'), `case ${i}`);
  }
});

test('random bytes after the PPK magic only give KeyFileError', () => {
  const r = randomSource('ppk-fuzz-random');
  for (let i = 0; i < 2000; i++) {
    const head = encoder.encode(i % 2 ? 'PuTTY-User-Key-File-3: ssh-ed25519\n' : 'PuTTY-User-Key-File-2: ');
    const body = r.bytes(r.below(600));
    const file = new Uint8Array(head.length + body.length);
    file.set(head);
    file.set(body, head.length);
    expectOnlyKeyFileError(file, `case ${i}`);
  }
});

/**
 * The MAC stops almost every mutation at the door, so these cases mutate the
 * public and private blobs of unencrypted v3 files and then compute a valid
 * MAC (HMAC-SHA-256 with an empty key), to reach the key decoding behind it.
 */
test('mutated key blobs under a valid MAC only give KeyFileError', () => {
  const r = randomSource('ppk-fuzz-remac');
  const plain = PPK_VECTORS.filter((v) => v.file.startsWith('PuTTY-User-Key-File-3') && v.file.includes('Encryption: none'));
  assert.ok(plain.length >= 3);
  const parsed = plain.map((v) => {
    const lines = v.file.trimEnd().split('\n');
    const field = (name: string): string => lines.find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
    const publicCount = Number(field('Public-Lines'));
    const publicStart = lines.findIndex((l) => l.startsWith('Public-Lines')) + 1;
    const privateStart = lines.findIndex((l) => l.startsWith('Private-Lines')) + 1;
    return {
      type: lines[0]!.split(': ')[1]!,
      comment: field('Comment'),
      publicBlob: Buffer.from(lines.slice(publicStart, publicStart + publicCount).join(''), 'base64'),
      privateBlob: Buffer.from(lines.slice(privateStart, privateStart + Number(field('Private-Lines'))).join(''), 'base64'),
    };
  });
  const mutate = (b: Uint8Array): Uint8Array => {
    const out = b.slice();
    for (let j = 1 + (r.byte() % 3); j > 0; j--) {
      // favour the length words at the front
      const at = r.byte() < 128 ? r.below(Math.min(12, out.length)) : r.below(out.length);
      out[at] = r.byte();
    }
    return r.byte() < 40 ? out.subarray(0, r.below(out.length + 1)) : out;
  };
  const build = (seed: (typeof parsed)[number], publicBlob: Uint8Array, privateBlob: Uint8Array): string => {
    const macData = new Writer().string(seed.type).string('none').string(seed.comment).string(publicBlob).string(privateBlob).finish();
    const mac = createHmac('sha256', new Uint8Array(0)).update(macData).digest('hex');
    const b64 = (b: Uint8Array): string[] => Buffer.from(b).toString('base64').match(/.{1,64}/g) ?? [];
    return [
      `PuTTY-User-Key-File-3: ${seed.type}`,
      'Encryption: none',
      `Comment: ${seed.comment}`,
      `Public-Lines: ${b64(publicBlob).length}`,
      ...b64(publicBlob),
      `Private-Lines: ${b64(privateBlob).length}`,
      ...b64(privateBlob),
      `Private-MAC: ${mac}`,
    ].join('\n');
  };
  // unmutated, the rebuilt files load: the MAC here is the reader's
  for (const seed of parsed) assert.equal(parsePpkPrivateKey(build(seed, seed.publicBlob, seed.privateBlob)).keyType, seed.type);
  let refusedAfterMac = 0;
  for (let i = 0; i < 1500; i++) {
    const seed = parsed[i % parsed.length]!;
    const which = r.byte() % 3;
    const publicBlob = which === 0 ? seed.publicBlob : mutate(seed.publicBlob);
    const privateBlob = which === 1 ? seed.privateBlob : mutate(seed.privateBlob);
    const file = build(seed, publicBlob, privateBlob);
    try {
      parsePpkPrivateKey(file);
    } catch (err) {
      assert.ok(err instanceof KeyFileError, `case ${i}: ${String(err)}`);
      if (!/MAC/.test(err.message)) refusedAfterMac++;
    }
  }
  assert.ok(refusedAfterMac > 1000, `only ${refusedAfterMac} cases got past the MAC`);
});
