// The API reference and the exports agree: every name an entry point exports
// is named (as `name`, `name(...)` or in a list) in docs/API.md or the README,
// so nothing a user can import goes undocumented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as full from '../../src/index.js';
import * as keys from '../../src/keys-entry.js';
import * as mux from '../../src/mux-entry.js';
import * as client from '../../src/client-entry.js';
import * as sftp from '../../src/sftp-entry.js';

const root = new URL('../../../', import.meta.url);
const docs = readFileSync(new URL('docs/API.md', root), 'utf8') + readFileSync(new URL('README.md', root), 'utf8');
const named = new Set(docs.match(/[A-Za-z_$][\w$]*/g) ?? []);

test('every exported name is documented in docs/API.md or README.md', () => {
  const entries: Record<string, object> = { nacre: full, 'nacre/keys': keys, 'nacre/mux': mux, 'nacre/client': client, 'nacre/sftp': sftp };
  const missing: string[] = [];
  for (const [entry, exports] of Object.entries(entries)) {
    for (const name of Object.keys(exports)) if (!named.has(name)) missing.push(`${entry}: ${name}`);
  }
  assert.deepEqual(missing, [], 'exported but not documented (add a line to docs/API.md, "Other exports" if nowhere else fits)');
});
