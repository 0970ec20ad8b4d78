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
