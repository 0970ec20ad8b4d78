// nacre's own failures in ssh's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, DisconnectReason, HostKeyRejectedError, NacreError, TimeoutError } from '../../src/index.js';
import { describeConnectFailure } from '../../src/cli/ssh/failures.js';

const where = { user: 'alice', host: 'example.org', port: 2222 };

function errno(code: string): Error {
  return new NacreError('cannot connect', DisconnectReason.CONNECTION_LOST, { cause: Object.assign(new Error(code), { code }) });
}

test('connection failures name host and port as ssh does', () => {
  assert.equal(describeConnectFailure(errno('ECONNREFUSED'), where), 'nacre: connect to host example.org port 2222: Connection refused');
  assert.equal(describeConnectFailure(errno('EHOSTUNREACH'), where), 'nacre: connect to host example.org port 2222: No route to host');
  assert.equal(describeConnectFailure(new TimeoutError('TCP connect to example.org:2222', 5000), where), 'nacre: connect to host example.org port 2222: Connection timed out');
  assert.equal(describeConnectFailure(errno('ENOTFOUND'), where), 'nacre: Could not resolve hostname example.org: Name or service not known');
  assert.equal(describeConnectFailure(errno('EAI_AGAIN'), where), 'nacre: Could not resolve hostname example.org: Temporary failure in name resolution');
});

test('host key and authentication failures', () => {
  assert.equal(describeConnectFailure(new HostKeyRejectedError('x', 'SHA256:x'), where), 'Host key verification failed.');
  assert.equal(describeConnectFailure(new AuthenticationError('authentication failed', ['publickey'], ['publickey', 'password']), where), 'alice@example.org: Permission denied (publickey,password).');
  assert.equal(describeConnectFailure(new Error('something else'), where), 'nacre: something else');
  assert.equal(describeConnectFailure(new TimeoutError('key exchange and authentication', 1000), where), 'nacre: key exchange and authentication timed out after 1000 ms');
});

test("a server's DISCONNECT before login: ssh's two lines, and none of its control characters reach the terminal", async () => {
  const { DisconnectError } = await import('../../src/index.js');
  const err = new DisconnectError(2, 'maintenance\x1b]0;OWNED\x07\x1b[31mRED\r\nfake: \\', true);
  const text = describeConnectFailure(err, { user: 'u', host: 'h', port: 2222 });
  assert.equal(text, 'Received disconnect from h port 2222:2: maintenance\\033]0;OWNED\\007\\033[31mRED\\015\\012fake: \\\\\nDisconnected from h port 2222');
  assert.doesNotMatch(text.replace(/\n/g, ''), /[\x00-\x1f\x7f]/);
  // The error's own message is safe to log too; the raw text stays in `description`.
  assert.doesNotMatch(err.message, /[\x00-\x1f\x7f]/);
  assert.equal(err.description, 'maintenance\x1b]0;OWNED\x07\x1b[31mRED\r\nfake: \\');
});

test("a server's banner keeps its lines, tabs and returns but not its escape sequences", async () => {
  const { safeLines, visible } = await import('../../src/cli/common/peer-text.js');
  assert.equal(safeLines('Welcome\tto h\r\nsecond line\x07\x1b[2J\x9b'), 'Welcome\tto h\r\nsecond line\x07\\033[2J\\233');
  assert.equal(visible('refused\x1b[1A\n'), 'refused\\033[1A\\012');
});
