import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVersion, formatVersionLine, describeReceived, MAX_SHOWN_RECEIVED } from '../../src/core/transport/version.js';
import { ProtocolError, VersionError } from '../../src/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);

test('parses a version line with CR LF and comments', () => {
  const r = parseVersion(bytes('SSH-2.0-OpenSSH_10.0 Debian\r\nrest'), true);
  assert.ok(r.done);
  assert.equal(r.version, 'SSH-2.0-OpenSSH_10.0 Debian');
  assert.equal(r.consumed, 29);
});

test('accepts 1.99 and a bare LF', () => {
  const r = parseVersion(bytes('SSH-1.99-old\n'), true);
  assert.ok(r.done && r.version === 'SSH-1.99-old');
});

test('waits for more bytes', () => {
  assert.equal(parseVersion(bytes('SSH-2.0-Ope'), true).done, false);
  assert.equal(parseVersion(bytes('SS'), true).done, false);
});

test('keeps lines sent before the server version', () => {
  const r = parseVersion(bytes('hello\r\nworld\r\nSSH-2.0-x\r\n'), true);
  assert.ok(r.done);
  assert.deepEqual(r.preamble, ['hello', 'world']);
});

test('a server refuses a client that sends other lines first', () => {
  assert.throws(() => parseVersion(bytes('GET / HTTP/1.1\r\n'), false), VersionError);
});

test('a server refuses bytes that cannot start a version line at once, without waiting for a newline', () => {
  // Garbage with no newline used to wait for the handshake deadline, holding an unauthenticated slot.
  assert.throws(() => parseVersion(new Uint8Array([0x16, 0x03, 0x01, 0x02]), false), /expected an SSH version line/);
  assert.throws(() => parseVersion(bytes('xyzw'), false), VersionError);
  assert.equal(parseVersion(bytes('SSH'), false).done, false, 'a prefix of SSH- waits');
  assert.equal(parseVersion(bytes('SSH-2.0-a'), false).done, false);
  assert.equal(parseVersion(bytes('xyzw'.repeat(10)), true).done, false, 'a client still takes lines before the version');
});

test('rejects SSH-1.5 and garbage', () => {
  assert.throws(() => parseVersion(bytes('SSH-1.5-old\r\n'), true), VersionError);
  assert.throws(() => parseVersion(bytes('SSH-2.0\r\n'), true), VersionError);
  assert.throws(() => parseVersion(bytes('SSH-2.0-a\x01b\r\n'), true), VersionError);
});

test('enforces the 255-byte version line limit and the preamble limits', () => {
  assert.throws(() => parseVersion(bytes('SSH-2.0-' + 'a'.repeat(300)), true), VersionError);
  assert.throws(() => parseVersion(bytes('SSH-2.0-' + 'a'.repeat(250) + '\r\n'), true), VersionError);
  assert.throws(() => parseVersion(bytes('x'.repeat(9000)), true), ProtocolError);
  assert.throws(() => parseVersion(bytes('x\n'.repeat(1100)), true), ProtocolError);
});

test('formats our own line', () => {
  assert.equal(formatVersionLine('Nacre_0.1'), 'SSH-2.0-Nacre_0.1');
  assert.throws(() => formatVersionLine('has space'));
});

test('describeReceived quotes what a peer sent instead of a version line, escaped and cut short', () => {
  assert.equal(describeReceived([], new Uint8Array(0)), 'it sent nothing');
  assert.equal(describeReceived(['220 mail ESMTP'], new Uint8Array(0)), "it sent: '220 mail ESMTP\\r\\n'");
  // Control bytes, a quote, a backslash and non-ASCII bytes cannot reach a terminal as they are.
  assert.equal(describeReceived([], Uint8Array.of(0x1b, 0x5b, 0x32, 0x4a, 0x27, 0x5c, 0x00, 0xff, 0x09)), "it sent: '\\x1b[2J\\'\\\\\\x00\\xff\\t'");
  const long = describeReceived(['x'.repeat(5000)], bytes('y'.repeat(5000)));
  assert.ok(long.length <= MAX_SHOWN_RECEIVED + 20, long);
  assert.match(long, /^it sent: 'x+'\.\.\.$/);
  // An escape is never cut in half.
  assert.match(describeReceived([], new Uint8Array(500).fill(1)), /^it sent: '(\\x01)+'\.\.\.$/);
});
