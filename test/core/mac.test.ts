import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/errors.js';
import { fromHex, toHex, utf8 } from '../../src/wire/bytes.js';
import { findMac, macAlgorithms } from '../../src/algorithms/mac.js';
import { Umac } from '../../src/crypto/umac.js';

function mac(name: string) {
  const m = findMac(name);
  assert.ok(m, name);
  return m;
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq);
  return b;
}

test('registry lists OpenSSH 10 default order with the right sizes', () => {
  assert.deepEqual(
    macAlgorithms.map((m) => m.name),
    [
      'umac-64-etm@openssh.com',
      'umac-128-etm@openssh.com',
      'hmac-sha2-256-etm@openssh.com',
      'hmac-sha2-512-etm@openssh.com',
      'hmac-sha1-etm@openssh.com',
      'umac-64@openssh.com',
      'umac-128@openssh.com',
      'hmac-sha2-256',
      'hmac-sha2-512',
      'hmac-sha1',
    ],
  );
  const shape = Object.fromEntries(macAlgorithms.map((m) => [m.name, [m.keyLength, m.length, m.etm, m.secure]]));
  assert.deepEqual(shape, {
    'umac-64-etm@openssh.com': [16, 8, true, true],
    'umac-128-etm@openssh.com': [16, 16, true, true],
    'hmac-sha2-256-etm@openssh.com': [32, 32, true, true],
    'hmac-sha2-512-etm@openssh.com': [64, 64, true, true],
    'hmac-sha1-etm@openssh.com': [20, 20, true, false],
    'umac-64@openssh.com': [16, 8, false, true],
    'umac-128@openssh.com': [16, 16, false, true],
    'hmac-sha2-256': [32, 32, false, true],
    'hmac-sha2-512': [64, 64, false, true],
    'hmac-sha1': [20, 20, false, false],
  });
  for (const m of macAlgorithms) assert.equal(m.create(new Uint8Array(m.keyLength)).length, m.length);
  assert.equal(findMac('hmac-md5'), undefined);
  assert.equal(findMac(''), undefined);
});

// RFC 4231 cases 1-4. HMAC zero-pads short keys to the hash block size, so the
// RFC key padded with zeros to the SSH key length gives the same MAC; the first
// four message bytes become the sequence number.
const rfc4231: [string, string, string, string][] = [
  [
    '0b'.repeat(20),
    toHex(utf8('Hi There')),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  ],
  [
    toHex(utf8('Jefe')),
    toHex(utf8('what do ya want for nothing?')),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  ],
  [
    'aa'.repeat(20),
    'dd'.repeat(50),
    '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
  ],
  [
    '0102030405060708090a0b0c0d0e0f10111213141516171819',
    'cd'.repeat(50),
    '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
  ],
];

test('HMAC-SHA-256/512 entries reproduce RFC 4231 cases 1-4', () => {
  for (const [keyHex, dataHex, want256, want512] of rfc4231) {
    const data = fromHex(dataHex);
    const seq = new DataView(data.buffer).getUint32(0);
    const rest = data.subarray(4);
    for (const [names, len, want] of [
      [['hmac-sha2-256', 'hmac-sha2-256-etm@openssh.com'], 32, want256],
      [['hmac-sha2-512', 'hmac-sha2-512-etm@openssh.com'], 64, want512],
    ] as const) {
      const key = new Uint8Array(len);
      key.set(fromHex(keyHex));
      for (const name of names) assert.equal(toHex(mac(name).create(key).compute(seq, rest)), want, name);
    }
  }
});

test('HMAC entries equal node:crypto HMAC over uint32 seq || data (RFC 4231 cases 6 and 7 data)', () => {
  const case6 = utf8('Test Using Larger Than Block-Size Key - Hash Key First');
  const case7 = utf8(
    'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
  );
  const hashes: Record<string, string> = {
    'hmac-sha2-256': 'sha256',
    'hmac-sha2-512': 'sha512',
    'hmac-sha1': 'sha1',
    'hmac-sha2-256-etm@openssh.com': 'sha256',
    'hmac-sha2-512-etm@openssh.com': 'sha512',
    'hmac-sha1-etm@openssh.com': 'sha1',
  };
  for (const [name, hash] of Object.entries(hashes)) {
    const alg = mac(name);
    const key = randomBytes(alg.keyLength);
    const pm = alg.create(key);
    for (const [seq, data] of [
      [0, case6],
      [1, case7],
      [0xffffffff, case7],
      [12345, new Uint8Array(0)],
      [7, randomBytes(35000)],
    ] as const) {
      const want = createHmac(hash, key).update(seqBytes(seq)).update(data).digest();
      assert.deepEqual(Buffer.from(pm.compute(seq, data)), want, `${name} seq ${seq}`);
      // The same instance keeps giving the same answer (no state carried over).
      assert.deepEqual(Buffer.from(pm.compute(seq, data)), want);
    }
  }
});

test('UMAC entries are UMAC over the packet alone with the 8-byte big-endian sequence number as nonce', () => {
  for (const [name, tagLength] of [
    ['umac-64@openssh.com', 8],
    ['umac-64-etm@openssh.com', 8],
    ['umac-128@openssh.com', 16],
    ['umac-128-etm@openssh.com', 16],
  ] as const) {
    const key = randomBytes(16);
    const pm = mac(name).create(key);
    const ref = new Umac(key, tagLength);
    for (const seq of [0, 1, 2, 3, 255, 256, 0x7fffffff, 0xfffffffe, 0xffffffff]) {
      const data = randomBytes(1 + ((seq * 97) % 3000));
      const nonce = new Uint8Array(8);
      nonce.set(seqBytes(seq), 4);
      assert.deepEqual(pm.compute(seq, data), ref.mac(data, nonce), `${name} seq ${seq}`);
    }
  }
});

// Tags from OpenSSH's own umac.c/umac128.c driven the way mac_compute() drives
// them (key 00..0f, nonce = uint64 seq, message = data[i] = (31 i + seq) & 0xff).
const opensshTags: [number, number, string, string][] = [
  [0x0, 16, 'a131923cee45503c', 'a131923cee45503c66018a813963c9f3'],
  [0x1, 16, 'c936067b15a55337', '9ecd9aca4ed43fbf4b557b37ecc78b9a'],
  [0x2, 32, '1650036750d7f1df', '1650036750d7f1df22831ba1629a9887'],
  [0x3, 48, 'a760ffbc3f41f4dd', 'd2c4021292a6349fa41df4fd6bf5a920'],
  [0xff, 64, '4298ad6402d6340f', '94ac0f23b171f3ea20fc063c71596b4e'],
  [0x100, 1023, '3e3e010154c62596', '3e3e010154c62596fa16c891448e84fb'],
  [0x101, 1024, 'fb0ccab0cc98b9a5', '3effee2e574b8b5d98cbc48be6217451'],
  [0x3e8, 1025, '483036bbcb1e6007', '483036bbcb1e6007c13b796dafc0a6e0'],
  [0x7fffffff, 1500, 'd9a2bda218b22189', 'faabcd68e054812a48181840785c0ec7'],
  [0xfffffffe, 2048, '0668a421089f9897', '0668a421089f9897dda837a5fff981a5'],
  [0xffffffff, 32816, '2351024b3b698463', '24f620c98b29590abcd375cfaa8e74f1'],
  [0x3039, 262144, '1c728a5921c213b4', '953b85389d6b1240ca1566116b3154de'],
];

test('UMAC entries reproduce tags computed by OpenSSH umac.c', () => {
  const key = fromHex('000102030405060708090a0b0c0d0e0f');
  const m64 = mac('umac-64@openssh.com').create(key);
  const m128 = mac('umac-128-etm@openssh.com').create(key);
  for (const [seq, length, t64, t128] of opensshTags) {
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = (i * 31 + seq) & 0xff;
    assert.equal(toHex(m64.compute(seq, data)), t64, `umac-64 seq ${seq}`);
    assert.equal(toHex(m128.compute(seq, data)), t128, `umac-128 seq ${seq}`);
  }
});

test('a key of the wrong length raises ProtocolError', () => {
  for (const m of macAlgorithms) {
    assert.throws(() => m.create(new Uint8Array(m.keyLength - 1)), ProtocolError, m.name);
    assert.throws(() => m.create(new Uint8Array(m.keyLength + 1)), ProtocolError, m.name);
  }
});
