import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, encodeMpint, decodeMpint, fromHex, toHex } from '../../src/wire/index.js';
import { ProtocolError } from '../../src/errors.js';
import { putUint32 } from '../../src/wire/bytes.js';

test('mpint encodings from RFC 4251 §5', () => {
  const cases: [bigint, string][] = [
    [0n, ''],
    [0x9a378f9b2e332a7n, '09a378f9b2e332a7'],
    [0x80n, '0080'],
    [-0x1234n, 'edcc'],
    [-0xdeadbeefn, 'ff21524111'],
  ];
  for (const [v, hex] of cases) {
    assert.equal(toHex(encodeMpint(v)), hex, `encode ${v}`);
    assert.equal(decodeMpint(fromHex(hex)), v, `decode ${hex}`);
  }
});

test('mpint with needless leading bytes is refused', () => {
  for (const hex of ['00', '0001', 'ff80', '007f']) {
    assert.throws(() => decodeMpint(fromHex(hex)), ProtocolError, hex);
  }
});

test('reader refuses to read past the end, with ProtocolError', () => {
  const r = new Reader(fromHex('00000005616263'));
  assert.throws(() => r.string(), ProtocolError);
  assert.throws(() => new Reader(new Uint8Array(3)).uint32(), ProtocolError);
  assert.throws(() => new Reader(new Uint8Array(7)).uint64(), ProtocolError);
  assert.throws(() => new Reader(new Uint8Array(0)).byte(), ProtocolError);
});

test('a huge length prefix is refused without allocating', () => {
  const r = new Reader(fromHex('ffffffff00'));
  assert.throws(() => r.string(), (e: unknown) => e instanceof ProtocolError && /runs past the end/.test(e.message));
  const limited = new Reader(fromHex('0000100000'));
  assert.throws(() => limited.string('blob', 16), /over the limit/);
});

test('name-lists: round trip, empty list, bad names', () => {
  const w = new Writer().nameList(['a', 'b@c.d']).nameList([]);
  const r = new Reader(w.finish());
  assert.deepEqual(r.nameList(), ['a', 'b@c.d']);
  assert.deepEqual(r.nameList(), []);
  r.end();
  assert.throws(() => new Reader(new Writer().string('a,,b').finish()).nameList(), ProtocolError);
  assert.throws(() => new Reader(new Writer().string('a b').finish()).nameList(), ProtocolError);
  for (const bad of [',', ',a', 'a,', 'a,,', 'a\x7fb', 'a\x80']) {
    assert.throws(() => new Reader(new Writer().string(Uint8Array.from(bad, (c) => c.charCodeAt(0))).finish()).nameList(), ProtocolError, JSON.stringify(bad));
  }
});

test('name-lists: random short byte strings decode as the rule says (printable US-ASCII names, none empty) or throw ProtocolError', () => {
  // The reference: the rule written out the slow, obvious way.
  const reference = (b: Uint8Array): string[] | 'error' => {
    if (b.length === 0) return [];
    if (b.some((c) => c < 0x21 || c > 0x7e)) return 'error';
    const names = String.fromCharCode(...b).split(',');
    return names.some((n) => n === '') ? 'error' : names;
  };
  const alphabet = [0x61, 0x62, 0x2c, 0x2c, 0x20, 0x7e, 0x7f, 0x80, 0xc3, 0xa9, 0x00];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from({ length: next() % 9 }, () => alphabet[next() % alphabet.length]!);
    const want = reference(b);
    const r = new Reader(new Writer().string(b).finish());
    if (want === 'error') assert.throws(() => r.nameList(), ProtocolError, Array.from(b).join(' '));
    else assert.deepEqual(r.nameList(), want);
  }
});

test('integers, booleans and trailing-byte checks', () => {
  const w = new Writer(1).byte(7).boolean(true).uint32(0xfffffffe).uint64(2n ** 64n - 1n);
  const r = new Reader(w.finish());
  assert.equal(r.byte(), 7);
  assert.equal(r.boolean(), true);
  assert.equal(r.uint32(), 0xfffffffe);
  assert.equal(r.uint64(), 2n ** 64n - 1n);
  r.end();
  const extra = new Reader(Uint8Array.of(1, 2));
  extra.byte();
  assert.throws(() => extra.end(), ProtocolError);
});

test('text must be valid UTF-8', () => {
  const bad = new Writer().string(Uint8Array.of(0xc3, 0x28)).finish();
  assert.throws(() => new Reader(bad).text(), ProtocolError);
  assert.equal(new Reader(new Writer().string('héllo').finish()).text(), 'héllo');
});

test('mpintFromBytes adds a sign byte and strips zeros', () => {
  const r = new Reader(new Writer().mpintFromBytes(Uint8Array.of(0, 0, 0x80, 1)).finish());
  assert.equal(r.mpint(), 0x8001n);
});

test('Writer.string refuses a value that is neither a string nor bytes, instead of writing an empty string', () => {
  for (const bad of [42, undefined, null, {}, [1, 2]]) {
    assert.throws(() => new Writer(8).string(bad as unknown as string), TypeError);
  }
  assert.deepEqual([...new Writer(8).string('a').finish()], [0, 0, 0, 1, 0x61]);
});

test('putUint32 writes big-endian like DataView, for every byte position and edge value', () => {
  for (const v of [0, 1, 0xff, 0x100, 0x12345678, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
    for (const at of [0, 1, 5]) {
      const a = new Uint8Array(10).fill(0xaa);
      const b = new Uint8Array(10).fill(0xaa);
      putUint32(a, at, v);
      new DataView(b.buffer).setUint32(at, v);
      assert.deepEqual(a, b, `${v} at ${at}`);
    }
  }
});
