// path-bytes.ts: file names as bytes in strings without loss (surrogateescape).
// Every byte string round-trips exactly; well-formed UTF-8 decodes as
// TextDecoder decodes it; the odd cases (lone continuation bytes, overlong
// forms, encoded surrogates, truncated sequences, code points past U+10FFFF)
// are escaped byte by byte; random and mutated inputs, thousands, in seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathFromBytes, pathToBytes, hasEscapedBytes, pathByteLength, showPath } from '../../src/wire/path-bytes.js';
import { seededRandom } from '../../src/testing/random.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isWellFormed(b: Uint8Array): boolean {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** The escapes for each byte, as a string. */
const esc = (...bytes: number[]) => String.fromCharCode(...bytes.map((b) => 0xdc00 + b));

test('ASCII and well-formed UTF-8 decode as TextDecoder does and encode as TextEncoder does', () => {
  for (const s of ['', 'a', 'hello world.txt', 'é', 'naïve café', '日本語', '\u{1F600} smile', '\uFEFFbom first', 'a\nb', '\u0000', 'x'.repeat(5000)]) {
    const b = new TextEncoder().encode(s);
    assert.equal(pathFromBytes(b), s);
    assert.equal(hex(pathToBytes(s)), hex(b));
    assert.equal(hasEscapedBytes(s), false);
    assert.equal(pathByteLength(s), b.length);
  }
});

test('bytes outside well-formed UTF-8 become U+DC80..U+DCFF, one per byte, and encode back', () => {
  const cases: [number[], string][] = [
    [[0x80], esc(0x80)],
    [[0xff], esc(0xff)],
    [[0xff, 0x61], esc(0xff) + 'a'],
    [[0x61, 0x80, 0x62], 'a' + esc(0x80) + 'b'],
    // overlong '/' and NUL
    [[0xc0, 0xaf], esc(0xc0, 0xaf)],
    [[0xe0, 0x80, 0xaf], esc(0xe0, 0x80, 0xaf)],
    [[0xc1, 0xbf], esc(0xc1, 0xbf)],
    // UTF-8 of a surrogate (CESU-style) is not well-formed
    [[0xed, 0xa0, 0x80], esc(0xed, 0xa0, 0x80)],
    [[0xed, 0xb2, 0x80], esc(0xed, 0xb2, 0x80)],
    // truncated sequences, then a good character
    [[0xc3], esc(0xc3)],
    [[0xe6, 0x97], esc(0xe6, 0x97)],
    [[0xe6, 0x97, 0x61], esc(0xe6, 0x97) + 'a'],
    [[0xf0, 0x9f, 0x98, 0xc3, 0xa9], esc(0xf0, 0x9f, 0x98) + 'é'],
    // past U+10FFFF, and bytes that start nothing
    [[0xf4, 0x90, 0x80, 0x80], esc(0xf4, 0x90, 0x80, 0x80)],
    [[0xf5, 0x80], esc(0xf5, 0x80)],
    [[0xfe, 0xfe], esc(0xfe, 0xfe)],
    // Latin-1 "café"
    [[0x63, 0x61, 0x66, 0xe9], 'caf' + esc(0xe9)],
    // a good four-byte character next to an escape
    [[0xf0, 0x9f, 0x98, 0x80, 0x80], '\u{1F600}' + esc(0x80)],
  ];
  for (const [bytes, want] of cases) {
    const b = Uint8Array.from(bytes);
    const s = pathFromBytes(b);
    assert.equal(s, want, hex(b));
    assert.equal(hasEscapedBytes(s), true, hex(b));
    assert.equal(hex(pathToBytes(s)), hex(b));
    assert.equal(pathByteLength(s), b.length);
  }
});

test('strings not made by pathFromBytes: a lone surrogate outside the escapes is U+FFFD, as TextEncoder has it', () => {
  assert.equal(hex(pathToBytes('a\uD800b')), hex(new TextEncoder().encode('a\uFFFDb')));
  assert.equal(hex(pathToBytes('\uDC00')), 'efbfbd');
  assert.equal(hex(pathToBytes('\uDD00')), 'efbfbd');
  assert.equal(hex(pathToBytes('\uD83D')), 'efbfbd');
  assert.equal(hasEscapedBytes('\uD800'), false);
  assert.equal(hasEscapedBytes('\uD83D\uDE00'), false);
  assert.equal(hasEscapedBytes('\uD83D\uDE00\uDC80'), true);
  // escapes that together spell UTF-8 are that UTF-8
  assert.equal(hex(pathToBytes(esc(0xc3, 0xa9))), 'c3a9');
});

test('property: every random byte string round-trips exactly; well-formed ones decode as TextDecoder does', () => {
  const rnd = seededRandom('path-bytes');
  const lenient = new TextDecoder();
  for (let i = 0; i < 5000; i++) {
    const [l, kind] = rnd(2);
    let b = rnd(l! % 64);
    // Some cases mostly ASCII or mostly high bytes, to reach both paths often.
    if (kind! % 3 === 0) b = b.map((x) => x & 0x7f);
    if (kind! % 3 === 1) b = b.map((x) => x | 0x80);
    const s = pathFromBytes(b);
    assert.equal(hex(pathToBytes(s)), hex(b));
    assert.equal(pathFromBytes(pathToBytes(s)), s);
    if (isWellFormed(b)) {
      assert.equal(s, lenient.decode(b));
      assert.equal(hasEscapedBytes(s), false);
    } else {
      assert.equal(hasEscapedBytes(s), true);
    }
  }
});

test('property: random well-formed strings (any code point) encode as TextEncoder and decode back', () => {
  const rnd = seededRandom('path-bytes-strings');
  for (let i = 0; i < 3000; i++) {
    const n = rnd(1)[0]! % 24;
    let s = '';
    for (let k = 0; k < n; k++) {
      const r = rnd(3);
      const cp = ((r[0]! << 16) | (r[1]! << 8) | r[2]!) % 0x110000;
      s += cp >= 0xd800 && cp <= 0xdfff ? 'x' : String.fromCodePoint(cp);
    }
    assert.equal(hex(pathToBytes(s)), hex(new TextEncoder().encode(s)));
    assert.equal(pathFromBytes(pathToBytes(s)), s);
  }
});

test('fuzz: mutated UTF-8 names (bit flips, cuts) round-trip and never throw', () => {
  const rnd = seededRandom('path-bytes-fuzz');
  const seeds = ['naïve café/日本語/\u{1F600}.txt', 'plain/ascii name', 'é'.repeat(40), '\u{10FFFF}\u{10000}\u0800\u07FF'].map((s) => new TextEncoder().encode(s));
  for (let i = 0; i < 5000; i++) {
    const r = rnd(4);
    const b = Uint8Array.from(seeds[r[0]! % seeds.length]!);
    const flips = 1 + (r[1]! % 4);
    for (let k = 0; k < flips; k++) {
      const [at, bit] = rnd(2);
      const j = at! % b.length;
      b[j] = b[j]! ^ (1 << (bit! % 8));
    }
    const cut = b.subarray(r[2]! % 3 === 0 ? r[3]! % b.length : 0);
    const s = pathFromBytes(cut);
    assert.equal(hex(pathToBytes(s)), hex(cut));
  }
});

test('showPath: escaped bytes as sftp prints them (backslash, three octal digits), characters as they are', () => {
  assert.equal(showPath('plain é 日本 \u{1F600}\n\t\\'), 'plain é 日本 \u{1F600}\n\t\\');
  assert.equal(showPath(pathFromBytes(Uint8Array.from([0x78, 0xff]))), 'x\\377');
  assert.equal(showPath(pathFromBytes(Uint8Array.from([0x80]))), '\\200');
  assert.equal(showPath(pathFromBytes(Uint8Array.from([0x6f, 0xc0, 0xaf, 0x6f]))), 'o\\300\\257o');
  assert.equal(showPath(`a ${pathFromBytes(Uint8Array.from([0xe9]))} \u{1F600}`), 'a \\351 \u{1F600}');
  assert.equal(showPath('\uD800x\uDC00'), '\\uD800x\\uDC00');
});
