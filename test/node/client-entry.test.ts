// nacre/client is a subset of 'nacre': every name it exports is the very
// object the full entry exports, so a program may mix the two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from '../../src/client-entry.js';
import * as full from '../../src/index.js';
import * as sftp from '../../src/sftp-entry.js';

test('every export of nacre/client is the same object in nacre', () => {
  const names = Object.keys(client);
  assert.ok(names.includes('connect') && names.includes('Client') && names.includes('readSshConfig'));
  for (const name of names) {
    assert.ok(name in full, `nacre/client exports ${name}, which 'nacre' does not`);
    assert.equal((client as Record<string, unknown>)[name], (full as Record<string, unknown>)[name], `${name} differs between nacre/client and nacre`);
  }
});

test('every export of nacre/sftp is the same object in nacre', () => {
  const names = Object.keys(sftp);
  assert.ok(names.includes('openSftp') && names.includes('pathFromBytes'));
  for (const name of names) {
    assert.equal((sftp as Record<string, unknown>)[name], (full as Record<string, unknown>)[name], `${name} differs between nacre/sftp and nacre`);
  }
});
