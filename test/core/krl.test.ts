// KRLs in memory: every rule kind checked, the binary form read and written,
// ssh-keygen -k's text, bad files refused with the reason, a file claiming
// 2^64 serials handled without expanding it, and a fuzz run over the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { formatOpenSshPublicKeyLine, generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { formatCertificateLine, signCertificate, type OpenSshCertificate } from '../../src/keys/certificate.js';
import { KrlError, KRL_MAGIC, encodeKrl, isKrl, parseKrl, type Krl, type KrlProblem, type KrlSection } from '../../src/keys/krl.js';
import { isRevoked, revokedKeys, verifyKrlSignatures } from '../../src/keys/krl-check.js';
import { buildKrl, parseKrlSpec } from '../../src/keys/krl-spec.js';
import { seededRandom } from '../../src/testing/random.js';
import { Writer } from '../../src/wire/writer.js';

const ca = generateHostKey('ssh-ed25519');
const otherCa = generateHostKey('ecdsa-sha2-nistp256');
const keys = Array.from({ length: 8 }, () => generateHostKey('ssh-ed25519'));
const certKey = generateHostKey('ssh-ed25519');
const U64_MAX = 0xffff_ffff_ffff_ffffn;

function cert(serial: bigint, keyId = `id-${serial}`, signer: KeySigner = ca): OpenSshCertificate {
  return signCertificate({ publicKey: certKey.publicBlob, kind: 'user', random: seededRandom(`${serial}`), serial, keyId, principals: ['u'] }, signer);
}

function sha(alg: 'sha1' | 'sha256', b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(b).digest());
}

function problemOf(run: () => unknown): KrlProblem {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof KrlError, `expected KrlError, got ${String(err)}`);
    return err.problem;
  }
  assert.fail('expected a KrlError');
}

function emptyKrl(sections: KrlSection[]): Krl {
  return { version: 1n, generatedDate: 2n, flags: 0n, reserved: new Uint8Array(0), comment: 'c', sections };
}

/** A KRL with one of everything, written and read back. */
function richKrl(): Krl {
  const spec = [
    '# revocations',
    'serial: 5',
    'SERIAL: 0x100 # hex, as strtoull reads it',
    'serial: 010',
    'serial: 100-200',
    `serial: 1000-${U64_MAX}`,
    'id: bad-id',
    `key: ${formatOpenSshPublicKeyLine(keys[0]!.publicBlob, 'k0')}`,
    `sha1: ${formatOpenSshPublicKeyLine(keys[1]!.publicBlob)}`,
    `  sha256:  ${formatOpenSshPublicKeyLine(keys[2]!.publicBlob)}   `,
    `hash: SHA256:${Buffer.from(sha('sha256', keys[3]!.publicBlob)).toString('base64').replace(/=+$/, '')}`,
    formatOpenSshPublicKeyLine(keys[4]!.publicBlob, 'plain line'),
    formatCertificateLine(cert(77n, 'x', otherCa)),
    formatCertificateLine(cert(0n, 'serial-zero', otherCa)),
  ].join('\n');
  const built = buildKrl(parseKrlSpec(spec, { caKey: ca.publicBlob }), { version: 3n, comment: 'test', generatedDate: 1_700_000_000n });
  const bitmap: KrlSection = {
    type: 'certificates',
    caKey: ca.publicBlob,
    reserved: new Uint8Array(0),
    // serials 300 + {0, 2, 9}
    rules: [{ type: 'serial-bitmap', offset: 300n, bitmap: new Uint8Array([0x02, 0x05]) }],
  };
  return parseKrl(encodeKrl({ ...built, sections: [...built.sections, bitmap] }));
}

test('every kind of rule revokes what it names, and says which rule matched', () => {
  const krl = richKrl();
  assert.equal(krl.version, 3n);
  assert.equal(krl.comment, 'test');
  assert.equal(krl.generatedDate, 1_700_000_000n);
  assert.deepEqual(isRevoked(krl, keys[0]!.publicBlob), { rule: 'explicit-key', subject: 'key' });
  assert.deepEqual(isRevoked(krl, keys[1]!.publicBlob), { rule: 'sha1', subject: 'key' });
  assert.deepEqual(isRevoked(krl, keys[2]!.publicBlob), { rule: 'sha256', subject: 'key' });
  assert.deepEqual(isRevoked(krl, keys[3]!.publicBlob), { rule: 'sha256', subject: 'key' });
  assert.deepEqual(isRevoked(krl, keys[4]!.publicBlob), { rule: 'explicit-key', subject: 'key' });
  assert.equal(isRevoked(krl, keys[5]!.publicBlob), null);
  assert.equal(isRevoked(krl, certKey.publicBlob), null);

  const revoked = (serial: bigint, keyId?: string, signer?: KeySigner) => isRevoked(krl, cert(serial, keyId, signer).blob)?.rule ?? 'ok';
  for (const [serial, rule] of [
    [5n, 'serial-list'], [256n, 'serial-list'], [8n, 'serial-list'], [4n, 'ok'], [6n, 'ok'], [10n, 'ok'],
    [99n, 'ok'], [100n, 'serial-range'], [150n, 'serial-range'], [200n, 'serial-range'], [201n, 'ok'],
    [300n, 'serial-bitmap'], [301n, 'ok'], [302n, 'serial-bitmap'], [309n, 'serial-bitmap'], [308n, 'ok'], [310n, 'ok'], [299n, 'ok'],
    [999n, 'ok'], [1000n, 'serial-range'], [U64_MAX, 'serial-range'],
  ] as const) {
    assert.equal(revoked(serial), rule, `serial ${serial}`);
  }
  assert.equal(revoked(7n, 'bad-id'), 'key-id');
  // serial 0 is never revoked by serial, only by key id
  assert.equal(revoked(0n), 'ok');
  // the same serials under another CA are not revoked
  assert.equal(revoked(5n, 'id', otherCa), 'ok');
  // a certificate line in the spec revokes its serial (or, for serial 0, its key id) under its own CA
  assert.deepEqual(isRevoked(krl, cert(77n, 'y', otherCa).blob), { rule: 'serial-list', subject: 'certificate', caKey: otherCa.publicBlob });
  assert.equal(revoked(0n, 'serial-zero', otherCa), 'key-id');
  assert.equal(revoked(0n, 'serial-zero'), 'ok');
});

test('a certificate is revoked when its key is, or its CA key is; a wildcard section covers every CA', () => {
  const byKey = buildKrl([{ kind: 'key', blob: certKey.publicBlob }]);
  assert.deepEqual(isRevoked(byKey, cert(1n).blob), { rule: 'explicit-key', subject: 'key' });
  const byCa = buildKrl([{ kind: 'sha256', hash: sha('sha256', ca.publicBlob) }]);
  assert.deepEqual(isRevoked(byCa, cert(1n).blob), { rule: 'sha256', subject: 'ca' });
  assert.equal(isRevoked(byCa, cert(1n, 'a', otherCa).blob), null);
  const wild = parseKrl(encodeKrl(buildKrl(parseKrlSpec('serial: 9\nid: everywhere', { caKey: null }))));
  const check = revokedKeys(wild);
  assert.deepEqual(check(cert(9n, 'a', otherCa).blob), { rule: 'serial-list', subject: 'certificate', caKey: null });
  assert.deepEqual(check(cert(3n, 'everywhere').blob), { rule: 'key-id', subject: 'certificate', caKey: null });
  assert.equal(check(cert(3n).blob), null);
});

test('ssh-keygen -k text: prefixes, comments, and line-numbered errors', () => {
  const text = 'serial: 1\n\n  # nothing\nid: a b  c  \t\nserial: 7-9';
  assert.deepEqual(parseKrlSpec(text, { caKey: null }), [
    { kind: 'serials', caKey: null, min: 1n, max: 1n },
    { kind: 'key-id', caKey: null, keyId: 'a b  c' },
    { kind: 'serials', caKey: null, min: 7n, max: 9n },
  ]);
  const bad: [string, RegExp, number][] = [
    ['serial: 1', /requires a CA key/, 1],
    ['id: x', /requires a CA key/, 1],
  ];
  for (const [line, message, lineNo] of bad) {
    assert.throws(() => parseKrlSpec(line), (e: unknown) => e instanceof KrlError && e.problem === 'spec' && e.line === lineNo && message.test(e.message));
  }
  const withCa: [string, RegExp][] = [
    ['serial: x', /invalid serial/],
    ['serial: 5-5', /invalid serial range/],
    ['serial: 9-3', /invalid serial range/],
    ['serial: 0', /serial 0/],
    ['serial: 18446744073709551616', /out of range/],
    ['serial: 08', /invalid serial/],
    ['hash: MD5:aa', /unsupported hash/],
    ['hash: SHA256:abc', /not a SHA256 fingerprint/],
    ['key: ssh-ed25519 AAAA', /invalid key/],
    ['sha1: nonsense', /invalid key/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==', /invalid key/],
  ];
  for (const [line, message] of withCa) {
    assert.throws(
      () => parseKrlSpec(`serial: 1\n${line}`, { caKey: ca.publicBlob, source: 'spec.txt' }),
      (e: unknown) => e instanceof KrlError && e.problem === 'spec' && e.line === 2 && e.message.startsWith('spec.txt:2: ') && message.test(e.message),
      line,
    );
  }
  assert.deepEqual(parseKrlSpec(`serial: ${U64_MAX}`, { caKey: null }), [{ kind: 'serials', caKey: null, min: U64_MAX, max: U64_MAX }]);
});

test('written KRLs read back to the same sections; serials are merged, and nearby ones put in a bitmap', () => {
  const spec = 'serial: 3\nserial: 4-6\nserial: 10\nserial: 12-20\nserial: 15-25\nserial: 100000\nserial: 200000-300000\nid: b\nid: a\nid: b';
  const krl = buildKrl(parseKrlSpec(spec, { caKey: ca.publicBlob }));
  const certs = krl.sections[0];
  assert.ok(certs?.type === 'certificates');
  assert.deepEqual(certs.rules, [
    { type: 'serial-list', serials: BigUint64Array.from([100000n]) },
    // serials 3 + {0..3, 7, 9..22}: 20 bytes rather than 50 as two ranges and a list entry
    { type: 'serial-bitmap', offset: 3n, bitmap: new Uint8Array([0x7f, 0xfe, 0x8f]) },
    { type: 'serial-range', min: 200000n, max: 300000n },
    { type: 'key-ids', keyIds: ['a', 'b'] },
  ]);
  const bytes = encodeKrl(krl);
  assert.ok(isKrl(bytes));
  assert.deepEqual(encodeKrl(parseKrl(bytes)), bytes);
  assert.deepEqual(parseKrl(bytes).sections, krl.sections);
  for (let serial = 1n; serial < 30n; serial++) {
    const expected = (serial >= 3n && serial <= 6n) || serial === 10n || (serial >= 12n && serial <= 25n);
    assert.equal(isRevoked(krl, cert(serial).blob) !== null, expected, `serial ${serial}`);
  }
  // every other serial over more than one bitmap's span: several bitmaps, each within 2048 bytes
  const many = buildKrl(Array.from({ length: 20000 }, (_, i) => ({ kind: 'serials' as const, caKey: ca.publicBlob, min: BigInt(2 * i + 1), max: BigInt(2 * i + 1) })));
  const rules = many.sections[0]?.type === 'certificates' ? many.sections[0].rules : [];
  assert.ok(rules.length > 2 && rules.every((r) => r.type === 'serial-bitmap' && r.bitmap.length <= 2048));
  const reread = parseKrl(encodeKrl(many));
  for (const serial of [1n, 2n, 3n, 16383n, 16384n, 16385n, 39999n, 40000n, 40001n]) {
    assert.equal(isRevoked(reread, cert(serial).blob) !== null, serial % 2n === 1n && serial < 40000n, `serial ${serial}`);
  }
});

test('updating a KRL keeps what it had, adds to the section of the same CA, and drops signatures', () => {
  const first = parseKrl(encodeKrl(buildKrl(parseKrlSpec('serial: 1', { caKey: ca.publicBlob }), { version: 4n, comment: 'one' })));
  const next = buildKrl(parseKrlSpec(`serial: 2\nkey: ${formatOpenSshPublicKeyLine(keys[0]!.publicBlob)}`, { caKey: ca.publicBlob }), { base: first });
  assert.equal(next.version, 4n);
  assert.equal(next.comment, 'one');
  assert.equal(next.sections.filter((s) => s.type === 'certificates').length, 1);
  assert.ok(isRevoked(next, cert(1n).blob));
  assert.ok(isRevoked(next, cert(2n).blob));
  assert.ok(isRevoked(next, keys[0]!.publicBlob));
  const again = buildKrl([{ kind: 'key', blob: keys[0]!.publicBlob }], { base: next, version: 5n });
  assert.equal(again.sections.filter((s) => s.type === 'explicit-keys').length, 1, 'a key already listed is not added again');
  assert.equal(again.version, 5n);
});

function signedKrl(signer: KeySigner, tamper = false, after?: Uint8Array): Uint8Array {
  const body = encodeKrl(buildKrl([{ kind: 'key', blob: keys[0]!.publicBlob }]));
  const head = new Writer(256).raw(body).byte(4).string(signer.publicBlob).finish();
  const sig = signer.sign(signer.algorithms[0]!, head);
  if (tamper) sig[sig.length - 1]! ^= 1;
  const w = new Writer(256).raw(head).string(sig);
  if (after) w.raw(after);
  return w.finish();
}

test('signature sections are read and ignored by the check, and verified only when asked', () => {
  const krl = parseKrl(signedKrl(ca));
  assert.ok(isRevoked(krl, keys[0]!.publicBlob));
  assert.deepEqual(verifyKrlSignatures(krl), [ca.publicBlob]);
  assert.deepEqual(verifyKrlSignatures(parseKrl(encodeKrl(buildKrl([])))), []);
  assert.equal(problemOf(() => verifyKrlSignatures(parseKrl(signedKrl(ca, true)))), 'bad-signature');
  const trailing = new Writer(64).byte(2).string(new Writer(64).string(keys[1]!.publicBlob).finish()).finish();
  const late = parseKrl(signedKrl(ca, false, trailing));
  assert.ok(isRevoked(late, keys[1]!.publicBlob));
  assert.equal(problemOf(() => verifyKrlSignatures(late)), 'bad-signature');
  assert.equal(problemOf(() => verifyKrlSignatures(krl, ['rsa-sha2-512'])), 'bad-signature');
  assert.throws(() => encodeKrl(krl), RangeError);
});

/** A KRL header then the given raw section bytes. */
function rawKrl(...sections: Uint8Array[]): Uint8Array {
  const w = new Writer(256).raw(KRL_MAGIC).uint32(1).uint64(0n).uint64(0n).uint64(0n).string('').string('');
  for (const s of sections) w.raw(s);
  return w.finish();
}

function section(type: number, body: Uint8Array): Uint8Array {
  return new Writer(body.length + 8).byte(type).string(body).finish();
}

function certSection(caKey: Uint8Array, ...subs: [number, Uint8Array][]): Uint8Array {
  const w = new Writer(256).string(caKey).string('');
  for (const [t, b] of subs) w.byte(t).string(b);
  return section(1, w.finish());
}

const u64s = (...v: bigint[]) => {
  const w = new Writer(64);
  for (const x of v) w.uint64(x);
  return w.finish();
};

test('malformed and unsupported KRLs are refused with the reason', () => {
  const good = rawKrl();
  assert.equal(parseKrl(good).sections.length, 0);
  const cases: [string, Uint8Array, KrlProblem][] = [
    ['bad magic', new Uint8Array([1, 2, 3]), 'malformed'],
    ['truncated header', good.subarray(0, 20), 'malformed'],
    ['format 2', (() => { const b = good.slice(); b[11] = 2; return b; })(), 'unsupported'],
    ['unknown section', rawKrl(section(9, new Uint8Array(0))), 'malformed'],
    ['critical extension', rawKrl(section(255, new Writer(32).string('x@y').byte(1).string('').finish())), 'unsupported'],
    ['extension trailing bytes', rawKrl(section(255, new Writer(32).string('x@y').byte(0).string('').byte(0).finish())), 'malformed'],
    ['short sha1', rawKrl(section(3, new Writer(32).string(new Uint8Array(19)).finish())), 'malformed'],
    ['short sha256', rawKrl(section(5, new Writer(32).string(new Uint8Array(20)).finish())), 'malformed'],
    ['range from 0', rawKrl(certSection(ca.publicBlob, [0x21, u64s(0n, 5n)])), 'malformed'],
    ['reversed range', rawKrl(certSection(ca.publicBlob, [0x21, u64s(9n, 5n)])), 'malformed'],
    ['range trailing', rawKrl(certSection(ca.publicBlob, [0x21, u64s(1n, 5n, 6n)])), 'malformed'],
    ['serial 0', rawKrl(certSection(ca.publicBlob, [0x20, u64s(3n, 0n)])), 'malformed'],
    ['half a serial', rawKrl(certSection(ca.publicBlob, [0x20, new Uint8Array(12)])), 'malformed'],
    ['negative bitmap', rawKrl(certSection(ca.publicBlob, [0x22, new Writer(32).uint64(1n).string(new Uint8Array([0x80])).finish()])), 'malformed'],
    ['bitmap over 2048 bytes', rawKrl(certSection(ca.publicBlob, [0x22, new Writer(32).uint64(1n).string(new Uint8Array(2049).fill(1)).finish()])), 'malformed'],
    ['bitmap past 2^64', rawKrl(certSection(ca.publicBlob, [0x22, new Writer(32).uint64(U64_MAX).string(new Uint8Array([2])).finish()])), 'malformed'],
    ['bitmap serial 0', rawKrl(certSection(ca.publicBlob, [0x22, new Writer(32).uint64(0n).string(new Uint8Array([1])).finish()])), 'malformed'],
    ['key id with NUL', rawKrl(certSection(ca.publicBlob, [0x23, new Writer(32).string('a\0b').finish()])), 'malformed'],
    ['unknown subsection', rawKrl(certSection(ca.publicBlob, [0x30, new Uint8Array(0)])), 'malformed'],
    ['critical cert extension', rawKrl(certSection(ca.publicBlob, [0x39, new Writer(32).string('x@y').byte(1).string('').finish()])), 'unsupported'],
    ['CA key of unknown type', rawKrl(certSection(new Writer(32).string('ssh-dss').string('x').finish())), 'unsupported'],
    ['CA key malformed', rawKrl(certSection(new Writer(32).string('ssh-ed25519').string('short').finish())), 'malformed'],
    ['section runs past the end', rawKrl(new Uint8Array([2, 0, 0, 1, 0])), 'malformed'],
  ];
  for (const [name, bytes, problem] of cases) assert.equal(problemOf(() => parseKrl(bytes)), problem, name);
  // a non-critical extension is skipped, an edge bitmap at the top of the range is fine
  const ok = parseKrl(
    rawKrl(
      section(255, new Writer(32).string('x@y').byte(0).string('data').finish()),
      certSection(ca.publicBlob, [0x39, new Writer(32).string('x@y').byte(0).string('').finish()], [0x22, new Writer(32).uint64(U64_MAX).string(new Uint8Array([1])).finish()]),
    ),
  );
  assert.equal(isRevoked(ok, cert(U64_MAX).blob)?.rule, 'serial-bitmap');
  const huge = { length: 128 * 1024 * 1024 + 1 } as Uint8Array;
  assert.equal(problemOf(() => parseKrl(huge)), 'too-large');
});

test('a small file claiming 2^64 serials and thousands of full bitmaps is checked without expanding it', () => {
  const subs: [number, Uint8Array][] = [[0x21, u64s(1n, U64_MAX)]];
  const full = new Uint8Array(2049).fill(0xff);
  full[0] = 0;
  for (let i = 0; i < 2000; i++) subs.push([0x22, new Writer(2100).uint64(BigInt(i) * 1_000_000_000_000n + 1n).string(full).finish()]);
  const bytes = rawKrl(certSection(ca.publicBlob, ...subs), certSection(otherCa.publicBlob, ...subs.slice(1)));
  assert.ok(bytes.length < 10_000_000);
  const start = process.hrtime.bigint();
  const krl = parseKrl(bytes);
  const check = revokedKeys(krl);
  assert.equal(check(cert(U64_MAX).blob)?.rule, 'serial-range');
  const other = (serial: bigint) => check(cert(serial, 'o', otherCa).blob)?.rule ?? 'ok';
  assert.equal(other(1n), 'serial-bitmap');
  assert.equal(other(16384n), 'serial-bitmap');
  assert.equal(other(16385n), 'ok');
  assert.equal(other(1_999_000_000_000_000n + 16384n), 'serial-bitmap');
  assert.equal(other(1_999_000_000_000_000n + 16385n), 'ok');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  assert.ok(seconds < 5, `took ${seconds} s`);
});

test('fuzz: random, truncated and bit-flipped KRLs give only KrlError, quickly', () => {
  const random = seededRandom('krl-fuzz');
  const seeds = [encodeKrl(richKrl()), signedKrl(ca), rawKrl(certSection(ca.publicBlob, [0x22, new Writer(32).uint64(5n).string(new Uint8Array([3, 0xff])).finish()]))];
  const probe = [keys[0]!.publicBlob, keys[5]!.publicBlob, cert(150n).blob, cert(0n, 'bad-id').blob];
  let parsed = 0;
  const attempt = (bytes: Uint8Array): void => {
    let krl: Krl;
    try {
      krl = parseKrl(bytes);
    } catch (err) {
      assert.ok(err instanceof KrlError, `unexpected ${String(err)}`);
      return;
    }
    parsed++;
    for (const p of probe) isRevoked(krl, p);
    try {
      verifyKrlSignatures(krl);
    } catch (err) {
      assert.ok(err instanceof KrlError, `unexpected ${String(err)}`);
    }
  };
  const started = Date.now();
  for (let i = 0; i < 8000; i++) {
    const seed = seeds[i % seeds.length]!;
    const n = random(4);
    const kind = n[0]! % 4;
    if (kind === 0) attempt(seed.subarray(0, ((n[1]! << 8) | n[2]!) % (seed.length + 1)));
    else if (kind === 1) {
      const b = seed.slice();
      for (let j = 0; j <= n[3]! % 4; j++) {
        const at = random(4);
        b[((at[0]! << 16) | (at[1]! << 8) | at[2]!) % b.length]! ^= 1 << (at[3]! & 7);
      }
      attempt(b);
    } else if (kind === 2) attempt(new Uint8Array([...KRL_MAGIC, ...random(n[1]! % 200)]));
    else attempt(random(n[1]!));
  }
  assert.ok(parsed > 0);
  assert.ok(Date.now() - started < 20_000);
});

test('fuzz: ssh-keygen -k text made of random lines gives only KrlError', () => {
  const random = seededRandom('krl-spec-fuzz');
  const prefixes = ['serial:', 'id:', 'key:', 'sha1:', 'sha256:', 'hash:', 'hash: SHA256:', '', '#', 'Serial: 0x', 'serial: 1-'];
  const keyLine = formatOpenSshPublicKeyLine(keys[0]!.publicBlob);
  const alphabet = ' \t-:#0123456789xabcdefAAAA+/=ssh-ed25519\r';
  for (let i = 0; i < 4000; i++) {
    const n = random(8);
    let line = prefixes[n[0]! % prefixes.length]!;
    if (n[1]! % 3 === 0) line += keyLine.slice(0, n[2]! % (keyLine.length + 1));
    for (let j = 0; j < n[3]! % 24; j++) line += alphabet[random(1)[0]! % alphabet.length];
    try {
      parseKrlSpec(line, { caKey: n[4]! % 2 === 0 ? null : undefined });
    } catch (err) {
      assert.ok(err instanceof KrlError && err.problem === 'spec' && err.line === 1, `unexpected ${String(err)} for ${JSON.stringify(line)}`);
    }
  }
});
