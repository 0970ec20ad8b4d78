import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostKeyAlgorithms, findHostKeyAlgorithm } from '../../src/algorithms/hostkey.js';
import { generateHostKey, type HostKeyType, type KeySigner } from '../../src/keys/index.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { fromHex, utf8 } from '../../src/wire/bytes.js';
import { KeyExchangeError, ProtocolError } from '../../src/errors.js';
import type { Signer } from '../../src/algorithms/types.js';
import { makePair } from './transport-helpers.js';

const keys: Record<string, KeySigner> = {
  'ssh-ed25519': generateHostKey('ssh-ed25519'),
  'ecdsa-sha2-nistp256': generateHostKey('ecdsa-sha2-nistp256'),
  'ecdsa-sha2-nistp384': generateHostKey('ecdsa-sha2-nistp384'),
  'ecdsa-sha2-nistp521': generateHostKey('ecdsa-sha2-nistp521'),
  'ssh-rsa': generateHostKey('ssh-rsa', 2048),
};
const data = utf8('exchange hash stand-in');

test('registry: OpenSSH 10 order, ssh-rsa last and insecure', () => {
  assert.deepEqual(
    hostKeyAlgorithms.map((a) => [a.name, a.keyType, a.secure]),
    [
      ['ssh-ed25519', 'ssh-ed25519', true],
      ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', true],
      ['ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384', true],
      ['ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp521', true],
      ['rsa-sha2-512', 'ssh-rsa', true],
      ['rsa-sha2-256', 'ssh-rsa', true],
      ['ssh-rsa', 'ssh-rsa', false],
    ],
  );
  assert.equal(findHostKeyAlgorithm('rsa-sha2-256')?.keyType, 'ssh-rsa');
  assert.equal(findHostKeyAlgorithm('ssh-dss'), undefined);
});

for (const alg of hostKeyAlgorithms) {
  test(`${alg.name}: sign and verify; tampering and mismatches give false`, () => {
    const key = keys[alg.keyType]!;
    const sig = key.sign(alg.name, data);
    assert.equal(new Reader(sig).text(), alg.name);
    assert.equal(alg.verify(key.publicBlob, data, sig), true);
    assert.equal(alg.verify(key.publicBlob, utf8('other data'), sig), false);
    const flipped = sig.slice();
    flipped[flipped.length - 3]! ^= 0x40;
    assert.equal(alg.verify(key.publicBlob, data, flipped), false);
    // another key of the same type
    const other = generateHostKey(alg.keyType as HostKeyType, 2048);
    assert.equal(alg.verify(other.publicBlob, data, sig), false);
    // a blob of another type
    const foreign = alg.keyType === 'ssh-ed25519' ? keys['ecdsa-sha2-nistp256']! : keys['ssh-ed25519']!;
    assert.equal(alg.verify(foreign.publicBlob, data, sig), false);
    // trailing bytes after the signature blob
    assert.equal(alg.verify(key.publicBlob, data, new Writer().raw(sig).byte(0).finish()), false);
    // garbage never throws
    for (const junk of [new Uint8Array(0), Uint8Array.of(0, 0, 0, 9), sig.subarray(0, sig.length - 1)]) {
      assert.equal(alg.verify(key.publicBlob, data, junk), false);
      assert.equal(alg.verify(junk, data, sig), false);
    }
  });
}

test('the algorithm named in the signature blob must match exactly', () => {
  const rsa = keys['ssh-rsa']!;
  const sig256 = rsa.sign('rsa-sha2-256', data);
  assert.equal(findHostKeyAlgorithm('rsa-sha2-256')!.verify(rsa.publicBlob, data, sig256), true);
  assert.equal(findHostKeyAlgorithm('rsa-sha2-512')!.verify(rsa.publicBlob, data, sig256), false);
  assert.equal(findHostKeyAlgorithm('ssh-rsa')!.verify(rsa.publicBlob, data, sig256), false);
  // same bytes relabelled: the name check fails, and so would the hash
  const r = new Reader(sig256);
  r.text();
  const relabelled = new Writer().string('rsa-sha2-512').string(r.string()).finish();
  assert.equal(findHostKeyAlgorithm('rsa-sha2-512')!.verify(rsa.publicBlob, data, relabelled), false);
  const ed = keys['ssh-ed25519']!;
  const edSig = new Reader(ed.sign('ssh-ed25519', data));
  edSig.text();
  const renamed = new Writer().string('SSH-ED25519').string(edSig.string()).finish();
  assert.equal(findHostKeyAlgorithm('ssh-ed25519')!.verify(ed.publicBlob, data, renamed), false);
});

test('signers refuse algorithms their key cannot use', () => {
  assert.throws(() => keys['ssh-ed25519']!.sign('rsa-sha2-256', data));
  assert.throws(() => keys['ecdsa-sha2-nistp256']!.sign('ecdsa-sha2-nistp384', data));
  assert.deepEqual(keys['ssh-rsa']!.algorithms, ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
});

test('Ed25519: RFC 8032 §7.1 test 1 verifies', () => {
  const pub = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const sig = fromHex(
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  );
  const blob = new Writer().string('ssh-ed25519').string(pub).finish();
  const sigBlob = new Writer().string('ssh-ed25519').string(sig).finish();
  const alg = findHostKeyAlgorithm('ssh-ed25519')!;
  assert.equal(alg.verify(blob, new Uint8Array(0), sigBlob), true);
  assert.equal(alg.verify(blob, Uint8Array.of(0), sigBlob), false);
});

test('ECDSA: r and s must be positive and fit the curve', () => {
  const key = keys['ecdsa-sha2-nistp256']!;
  const alg = findHostKeyAlgorithm('ecdsa-sha2-nistp256')!;
  const r = new Reader(key.sign(alg.name, data));
  r.text();
  const inner = new Reader(r.string());
  const rv = inner.mpint();
  const sv = inner.mpint();
  const wrap = (a: bigint, b: bigint) => new Writer().string(alg.name).string(new Writer().mpint(a).mpint(b).finish()).finish();
  assert.equal(alg.verify(key.publicBlob, data, wrap(rv, sv)), true);
  assert.equal(alg.verify(key.publicBlob, data, wrap(-rv, sv)), false);
  assert.equal(alg.verify(key.publicBlob, data, wrap(0n, sv)), false);
  assert.equal(alg.verify(key.publicBlob, data, wrap(rv, sv + (1n << 300n))), false);
});

/** keys['ssh-rsa'] with its exponent replaced: a host key a hostile server could send. */
function rsaWithExponent(e: Uint8Array): Uint8Array {
  const r = new Reader(keys['ssh-rsa']!.publicBlob);
  r.text();
  r.mpintBytes();
  return new Writer().string('ssh-rsa').mpintFromBytes(e).mpintFromBytes(r.mpintBytes()).finish().slice();
}

test('checkKey refuses malformed keys and RSA keys outside the limits, as ProtocolError', () => {
  const rsa256 = findHostKeyAlgorithm('rsa-sha2-256')!;
  rsa256.checkKey(keys['ssh-rsa']!.publicBlob);
  findHostKeyAlgorithm('ssh-ed25519')!.checkKey(keys['ssh-ed25519']!.publicBlob);
  const huge = new Uint8Array(383).fill(0xff);
  assert.throws(() => rsa256.checkKey(rsaWithExponent(huge)), (e: unknown) => e instanceof ProtocolError && /exponent of 3064 bits/.test(e.message));
  assert.throws(() => rsa256.checkKey(rsaWithExponent(new Uint8Array([2]))), ProtocolError);
  assert.throws(() => rsa256.checkKey(keys['ssh-ed25519']!.publicBlob), ProtocolError);
  assert.throws(() => rsa256.checkKey(new Uint8Array([0, 0, 0, 7])), ProtocolError);
});

test('a server host key with a 3064-bit RSA exponent ends the exchange with KeyExchangeError before any verification', () => {
  const real = keys['ssh-rsa']!;
  const blob = rsaWithExponent(new Uint8Array(383).fill(0xff));
  // signs with the real key; the blob it claims is the hostile one
  const hostile: Signer = { keyType: 'ssh-rsa', publicBlob: blob, sign: (alg, d) => real.sign(alg, d) };
  const { pair } = makePair({ hostKeys: [hostile] });
  pair.pump();
  const d = pair.client.events.find((e) => e.type === 'disconnected');
  assert.ok(d && d.type === 'disconnected', 'the client gave up');
  assert.ok(d.error instanceof KeyExchangeError, d.error.message);
  assert.match(d.error.message, /host key is not acceptable: .*exponent of 3064 bits/);
  assert.ok(!pair.client.events.some((e) => e.type === 'host-key'), 'never offered to the application');
});
