// The known_hosts edits behind ssh-keygen -F, -R and -H: which lines match,
// what is removed or hashed, and that every other line survives byte for
// byte. Expected results follow OpenSSH's hostkeys_foreach and ssh-keygen
// (checked against the real tool in test/interop/keygen.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyKnownHosts,
  findKnownHostLines,
  hashKnownHostEntry,
  hashKnownHosts,
  hostFieldMatches,
  removeKnownHost,
  splitKnownHostsLines,
} from '../../src/trust/known-hosts-edit.js';
import { hashHostName, parseKnownHosts, knownHostEntryMatches } from '../../src/trust/known-hosts.js';
import { seededRandom } from '../../src/testing/random.js';

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINy5TrqhdTNF3fOf2gonWZN5eUM+uI9c9YDp/daVY2z0';
const EC =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPmQdncn8M+eqMZllrXOYg5jKRkyrk9aATzckCLQkfv1YoM04wlh2RxkfWDzAzXBsv0lAu0ZnMf36wWSb+t0iUc=';
const SALT = new Uint8Array(20).fill(7);
const HASHED_FOO = hashHostName('foo', SALT);

const FILE = [
  '# comment',
  `foo,bar ${ED}`,
  '',
  `[foo]:2222 ${ED}`,
  `baz ${EC} c`,
  `foo ${EC}`,
  `@cert-authority *.x ${ED}`,
  `@revoked foo ${EC}`,
  `${HASHED_FOO} ${ED} hashed`,
  `  \t# indented comment`,
].join('\n') + '\n';

test('lines are classified as hostkeys_foreach does: comments, entries with marker and raw key, invalid lines', () => {
  const lines = classifyKnownHosts(FILE);
  assert.equal(lines.length, 10);
  assert.deepEqual(lines.map((l) => l.kind), ['comment', 'entry', 'comment', 'entry', 'entry', 'entry', 'entry', 'entry', 'entry', 'comment']);
  const ca = lines[6]!;
  assert.ok(ca.kind === 'entry' && ca.marker === 'cert-authority' && ca.hosts === '*.x' && ca.rawKey === ED);
  const bad = classifyKnownHosts(['foo', 'foo   ', '@bogus foo ' + ED, 'foo ssh-ed25519', 'foo 1024 35 1234', '|1|bad|hash ' + ED, 'foo # no key', 'foo x AAAA'].join('\n'));
  assert.deepEqual(bad.map((l) => l.kind), ['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
  assert.deepEqual(splitKnownHostsLines('a\nb'), ['a', 'b']);
  assert.deepEqual(splitKnownHostsLines('a\n\n'), ['a', '']);
  assert.deepEqual(splitKnownHostsLines(''), []);
});

test('host fields match names as OpenSSH: patterns case-insensitively, negation, ports, hashed names', () => {
  assert.ok(hostFieldMatches('foo,bar', 'bar'));
  assert.ok(hostFieldMatches('FOO', 'foo'));
  assert.ok(hostFieldMatches('*.example.com', 'a.example.com'));
  assert.ok(!hostFieldMatches('*.example.com,!b.example.com', 'b.example.com'));
  assert.ok(hostFieldMatches('[foo]:2222', '[foo]:2222'));
  assert.ok(!hostFieldMatches('[foo]:2222', 'foo'));
  assert.ok(hostFieldMatches(HASHED_FOO, 'foo'));
  assert.ok(!hostFieldMatches(HASHED_FOO, 'bar'));
  assert.ok(!hostFieldMatches('|1|bad', 'foo'));
});

test('-F: the matching entries in order, markers included, invalid lines skipped', () => {
  const found = findKnownHostLines(FILE + 'foo\n', 'foo');
  assert.deepEqual(found.map((l) => l.line), [2, 6, 8, 9]);
  assert.equal(found[2]!.marker, 'revoked');
  assert.equal(found[0]!.text, `foo,bar ${ED}`);
  assert.deepEqual(findKnownHostLines(FILE, 'nope'), []);
  assert.deepEqual(findKnownHostLines(FILE, 'a.x').map((l) => l.line), [7]);
});

test('-R: plain entries naming the host go, marker lines and everything else stay byte for byte', () => {
  const r = removeKnownHost(FILE, 'foo');
  assert.deepEqual(r.removedLines, [2, 6, 9]);
  assert.deepEqual(r.invalidLines, []);
  const kept = splitKnownHostsLines(FILE).filter((_, i) => ![1, 5, 8].includes(i));
  assert.equal(r.text, kept.map((l) => l + '\n').join(''));
  // A file without a final newline gets one, as ssh-keygen writes each line with one.
  assert.equal(removeKnownHost(`a ${ED}\nfoo ${ED}`, 'foo').text, `a ${ED}\n`);
  // Nothing to remove: the same text.
  const none = removeKnownHost(FILE, 'nope');
  assert.deepEqual(none.removedLines, []);
  assert.equal(none.text, FILE);
  // Invalid lines are reported (the tool then refuses to write) and kept.
  const bad = removeKnownHost(`foo ${ED}\ngarbage\n`, 'foo');
  assert.deepEqual(bad.invalidLines.map((l) => l.line), [2]);
  assert.equal(bad.text, 'garbage\n');
});

test('-H: each plain name hashed on its own line with the key and comment; hashed, wildcard and marker lines kept', () => {
  const r = hashKnownHosts(FILE, { salt: () => SALT });
  const out = splitKnownHostsLines(r.text);
  assert.equal(r.hashedAny, true);
  assert.deepEqual(r.wildcardLines.map((l) => l.line), [7]);
  assert.deepEqual(out, [
    '# comment',
    `${hashHostName('foo', SALT)} ${ED}`,
    `${hashHostName('bar', SALT)} ${ED}`,
    '',
    `${hashHostName('[foo]:2222', SALT)} ${ED}`,
    `${hashHostName('baz', SALT)} ${EC} c`,
    `${hashHostName('foo', SALT)} ${EC}`,
    `@cert-authority *.x ${ED}`,
    `@revoked foo ${EC}`,
    `${HASHED_FOO} ${ED} hashed`,
    `  \t# indented comment`,
  ]);
  // The hashed file still finds every host it named, and parses as known_hosts.
  const parsed = parseKnownHosts(r.text);
  assert.deepEqual(parsed.problems, []);
  for (const name of ['foo', 'bar', '[foo]:2222', 'baz']) assert.ok(parsed.entries.some((e) => knownHostEntryMatches(e, name)), name);
  // Names are lower-cased before hashing; an empty name ends the list, as strsep does in ssh-keygen.
  const upper = hashKnownHosts(`FOO,,bar ${ED}\n`, { salt: () => SALT });
  assert.equal(upper.text, `${hashHostName('foo', SALT)} ${ED}\n`);
  // Already hashed: nothing to warn about.
  assert.equal(hashKnownHosts(`${HASHED_FOO} ${ED}\n`).hashedAny, false);
  const entry = classifyKnownHosts(`a,b ${ED}`)[0]!;
  assert.ok(entry.kind === 'entry');
  assert.equal(hashKnownHostEntry(entry).length, 2);
});

test('fuzz: random, truncated and bit-flipped known_hosts text never throws and keeps non-entries', () => {
  const rand = seededRandom('known-hosts-edit-fuzz');
  const alphabet = ' \t\n#@,|!*?[]:=abcfo0123456789+/AZ';
  const base = new TextEncoder().encode(FILE);
  for (let i = 0; i < 3000; i++) {
    let text: string;
    const r = rand(4);
    if (i % 3 === 0) {
      text = Array.from(rand(1 + (r[0]! % 200)), (b) => alphabet[b % alphabet.length]).join('');
    } else if (i % 3 === 1) {
      text = FILE.slice(0, (r[0]! << 8 | r[1]!) % FILE.length);
    } else {
      const bytes = base.slice();
      for (let k = 0; k < 1 + (r[2]! % 4); k++) {
        const at = rand(2);
        bytes[((at[0]! << 8) | at[1]!) % bytes.length]! ^= 1 << (at[0]! % 8);
      }
      text = new TextDecoder().decode(bytes);
    }
    const lines = classifyKnownHosts(text);
    assert.equal(lines.length, splitKnownHostsLines(text).length);
    const removed = removeKnownHost(text, 'foo');
    assert.equal(splitKnownHostsLines(removed.text).length, lines.length - removed.removedLines.length);
    const hashed = hashKnownHosts(text, { salt: () => SALT });
    for (const l of lines) if (l.kind !== 'entry') assert.ok(splitKnownHostsLines(hashed.text).includes(l.text));
    findKnownHostLines(text, 'bar');
  }
});
