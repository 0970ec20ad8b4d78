// sshd's AcceptEnv patterns and the environment a logged-in program gets (src/server/login-env.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ACCEPT_ENV, DEFAULT_USER_PATH, acceptEnvPatterns, loginEnvironment } from '../../src/server/login-env.js';

test('AcceptEnv patterns: * and ? as in sshd_config, the whole name must match, regex characters are literal', () => {
  const d = acceptEnvPatterns(DEFAULT_ACCEPT_ENV);
  for (const ok of ['LANG', 'LC_ALL', 'LC_TIME', 'LC_']) assert.equal(d(ok), true, ok);
  for (const no of ['LANGUAGE', 'XLANG', 'PATH', 'LD_PRELOAD', 'lc_all', '']) assert.equal(d(no), false, no);
  const q = acceptEnvPatterns(['A?C', 'X.Y']);
  assert.equal(q('ABC'), true);
  assert.equal(q('AC'), false);
  assert.equal(q('X.Y'), true);
  assert.equal(q('XzY'), false);
  assert.equal(acceptEnvPatterns([])('LANG'), false);
});

test('AcceptEnv patterns with several stars against a long name end (no polynomial backtracking)', () => {
  const m = acceptEnvPatterns(['*_*_*_*_X', 'A*B*C']);
  assert.equal(m('_'.repeat(100_000)), false);
  assert.equal(m('_'.repeat(50_000) + 'X'), true);
  assert.equal(m('A' + 'x'.repeat(1000) + 'B' + 'C'), true);
});

test('loginEnvironment: accepted variables may override, SSH_CONNECTION may not; TERM only with a terminal', () => {
  const peer = { username: 'alice', remoteAddress: '10.0.0.1', remotePort: 5555, localAddress: '10.0.0.2', localPort: 22 };
  const e = loginEnvironment({ username: 'alice', home: '/home/alice', shell: '/bin/bash', uid: 1000 }, peer, { LANG: 'C.UTF-8', SSH_CONNECTION: 'forged' }, null);
  assert.deepEqual(
    { ...e, TZ: undefined },
    {
      USER: 'alice', LOGNAME: 'alice', HOME: '/home/alice', PATH: DEFAULT_USER_PATH, MAIL: '/var/mail/alice', SHELL: '/bin/bash', TZ: undefined,
      LANG: 'C.UTF-8', SSH_CLIENT: '10.0.0.1 5555 22', SSH_CONNECTION: '10.0.0.1 5555 10.0.0.2 22',
    },
  );
  const t = loginEnvironment({ username: 'alice', home: '/h', shell: '/bin/sh', path: '/p' }, peer, {}, { term: 'vt100', cols: 80, rows: 24, width: 0, height: 0, modes: {} });
  assert.equal(t.TERM, 'vt100');
  assert.equal(t.PATH, '/p');
});
