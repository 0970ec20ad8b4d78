// The password file format: lines parsed without trusting a field, errors
// naming file and line, line edits that keep everything else, and a fuzz run
// that lets only ConfigError out of the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import {
  deletePasswordLine,
  encodeBase64NoPad,
  formatPasswordHash,
  parsePasswordFile,
  parsePasswordHash,
  setPasswordLine,
  SCRYPT_LIMITS,
} from '../../src/config/password-file.js';

const salt = new Uint8Array(16).map((_, i) => i);
const hash = new Uint8Array(32).map((_, i) => 255 - i);
const GOOD = formatPasswordHash({ params: { log2N: 15, r: 8, p: 1 }, salt, hash });

test('a hash string round-trips, with the format documented', () => {
  assert.match(GOOD, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const h = parsePasswordHash(GOOD);
  assert.deepEqual(h.params, { log2N: 15, r: 8, p: 1 });
  assert.deepEqual([...h.salt], [...salt]);
  assert.deepEqual([...h.hash], [...hash]);
  assert.equal(Buffer.from(encodeBase64NoPad(hash) + '=', 'base64').toString('hex'), Buffer.from(hash).toString('hex'));
  for (let n = 0; n < 70; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
    assert.equal(encodeBase64NoPad(bytes), Buffer.from(bytes).toString('base64').replace(/=+$/, ''));
  }
});

test('comments, blank lines and CRLF are fine; each user once', () => {
  const text = `# users\n\nalice:${GOOD}\r\n  # indented comment\nbob:${GOOD}\n`;
  const p = parsePasswordFile(text, '/etc/nacre/passwd');
  assert.deepEqual([...p.entries.keys()], ['alice', 'bob']);
  assert.equal(p.errors.length, 0);
  assert.equal(p.entries.get('bob')!.line, 5);
});

test('bad lines: each error names file and line; a bad user line is kept as malformed', () => {
  const b64 = (n: number) => encodeBase64NoPad(new Uint8Array(n));
  const cases: [string, RegExp, string?][] = [
    ['nocolon', /expected user:/],
    [`-bad:${GOOD}`, /not a valid user name/],
    [`a b:${GOOD}`, /not a valid user name/],
    [`${'x'.repeat(65)}:${GOOD}`, /not a valid user name/],
    ['carol:plaintext', /not a \$scrypt/, 'carol'],
    ['carol:$argon2id$v=19$m=1,t=1,p=1$aaaa$bbbb', /unknown hash algorithm/, 'carol'],
    [`carol:$scrypt$ln=9,r=8,p=1$${b64(16)}$${b64(32)}`, /ln=9 is outside/, 'carol'],
    [`carol:$scrypt$ln=21,r=8,p=1$${b64(16)}$${b64(32)}`, /ln=21 is outside/, 'carol'],
    [`carol:$scrypt$ln=20,r=32,p=1$${b64(16)}$${b64(32)}`, /MiB/, 'carol'],
    [`carol:$scrypt$ln=15,r=0,p=1$${b64(16)}$${b64(32)}`, /r=0/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=17$${b64(16)}$${b64(32)}`, /p=17/, 'carol'],
    [`carol:$scrypt$ln=15,r=8$${b64(16)}$${b64(32)}`, /ln=N,r=N,p=N/, 'carol'],
    [`carol:$scrypt$ln=015,r=8,p=1$${b64(16)}$${b64(32)}`, /ln=N,r=N,p=N/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=1$${b64(8)}$${b64(32)}`, /salt is 8 bytes/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=1$${b64(16)}$${b64(16)}`, /hash is 16 bytes/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=1$${b64(16)}$${b64(65)}`, /hash is 65 bytes/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=1$${b64(16)}==$${b64(32)}`, /not base64/, 'carol'],
    [`carol:$scrypt$ln=15,r=8,p=1$${b64(16).slice(0, -1)}B$${b64(32)}`, /stray bits/, 'carol'],
    [`carol:${GOOD}$extra`, /not a \$scrypt/, 'carol'],
    [`carol:${GOOD}${'A'.repeat(SCRYPT_LIMITS.lineLength)}`, /longer than/],
  ];
  for (const [line, why, user] of cases) {
    const p = parsePasswordFile(`# header\nalice:${GOOD}\n${line}\n`, 'pw');
    assert.equal(p.errors.length, 1, line);
    const e = p.errors[0]!;
    assert.ok(e instanceof ConfigError);
    assert.equal(e.file, 'pw');
    assert.equal(e.line, 3);
    assert.match(e.message, /^pw line 3: /);
    assert.match(e.message, why, line);
    assert.ok(p.entries.has('alice'));
    if (user) assert.ok('malformed' in p.entries.get(user)!.hash, line);
    else assert.equal(p.entries.size, 1, line);
  }
  const dup = parsePasswordFile(`alice:${GOOD}\nalice:plain\n`, 'pw');
  assert.match(dup.errors[0]!.message, /pw line 2: a second line for alice \(the first, line 1, is used\)/);
  assert.ok(!('malformed' in dup.entries.get('alice')!.hash));
});

test('set and delete change one line and keep the rest', () => {
  const text = `# users\nalice:${GOOD}\n\nbob:${GOOD}\n`;
  const other = formatPasswordHash({ params: { log2N: 14, r: 8, p: 1 }, salt, hash });
  assert.equal(setPasswordLine(text, 'alice', other), `# users\nalice:${other}\n\nbob:${GOOD}\n`);
  assert.equal(setPasswordLine(text, 'carol', other), `${text}carol:${other}\n`);
  assert.equal(setPasswordLine('', 'carol', other), `carol:${other}\n`);
  assert.equal(setPasswordLine('# no newline', 'carol', other), `# no newline\ncarol:${other}\n`);
  assert.equal(setPasswordLine(`alicia:${GOOD}\n`, 'ali', other), `alicia:${GOOD}\nali:${other}\n`, 'a prefix of another name is another user');
  assert.throws(() => setPasswordLine(text, 'a:b', other), RangeError);
  assert.throws(() => setPasswordLine(text, 'alice', 'plain'));
  assert.equal(deletePasswordLine(text, 'alice'), `# users\n\nbob:${GOOD}\n`);
  assert.equal(deletePasswordLine(text, 'carol'), null);
  assert.equal(deletePasswordLine(`alice:${GOOD}\n`, 'alice'), '');
});

test('fuzz: random, truncated and bit-flipped files give entries and ConfigErrors, never a throw', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const base = Buffer.from(`# c\nalice:${GOOD}\nbob:${GOOD}\n`);
  const started = Date.now();
  for (let i = 0; i < 4000; i++) {
    let bytes: Buffer;
    const mode = i % 3;
    if (mode === 0) bytes = Buffer.from(Array.from({ length: rnd(300) }, () => rnd(256)));
    else if (mode === 1) bytes = base.subarray(0, rnd(base.length + 1));
    else {
      bytes = Buffer.from(base);
      for (let k = 0; k < 1 + rnd(4); k++) bytes[rnd(bytes.length)]! ^= 1 << rnd(8);
    }
    const p = parsePasswordFile(bytes.toString('utf8'), 'f');
    for (const e of p.errors) assert.ok(e instanceof ConfigError);
    for (const e of p.entries.values()) {
      if ('malformed' in e.hash) continue;
      assert.ok(e.hash.salt.length >= 16 && e.hash.hash.length >= 32);
    }
  }
  assert.ok(Date.now() - started < 10_000);
});
