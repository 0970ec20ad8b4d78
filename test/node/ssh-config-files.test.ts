// The Node side of ssh_config: Include's glob, the permission check on
// ~/.ssh/config and included files, Match exec through the shell.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globPaths, readSshConfig } from '../../src/io/node/ssh-config-files.js';
import { ConfigError } from '../../src/errors.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nacre-ssh-config-files-'));
  mkdirSync(join(dir, 'conf.d', 'sub'), { recursive: true });
  for (const f of ['b.conf', 'a.conf', '.hidden.conf', 'c.txt', 'sub/d.conf']) writeFileSync(join(dir, 'conf.d', f), `# ${f}\n`, { mode: 0o644 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('globPaths: * and ? per segment, sorted, no hidden files unless asked, nothing for no match', () => {
  const d = join(dir, 'conf.d');
  assert.deepEqual(globPaths(`${d}/*.conf`), [`${d}/a.conf`, `${d}/b.conf`]);
  assert.deepEqual(globPaths(`${d}/?.conf`), [`${d}/a.conf`, `${d}/b.conf`]);
  assert.deepEqual(globPaths(`${d}/.*.conf`), [`${d}/.hidden.conf`]);
  assert.deepEqual(globPaths(`${dir}/*/sub/*.conf`), [`${d}/sub/d.conf`]);
  assert.deepEqual(globPaths(`${d}/a.conf`), [`${d}/a.conf`]);
  assert.deepEqual(globPaths(`${d}/none*`), []);
  assert.deepEqual(globPaths(`relative/*`), []);
});

test('an included file writable by others is refused, naming it; Match exec runs through the shell', () => {
  const inc = join(dir, 'inc.conf');
  writeFileSync(inc, 'Port 2\n');
  chmodSync(inc, 0o666);
  const main = join(dir, 'main.conf');
  writeFileSync(main, `Include ${inc}\n`);
  assert.throws(() => readSshConfig({ host: 'h', configFile: main }), (e: unknown) => e instanceof ConfigError && e.message === `${inc}: Bad owner or permissions on ${inc}`);
  chmodSync(inc, 0o644);
  assert.equal(readSshConfig({ host: 'h', configFile: main }).port, 2);
  writeFileSync(main, `Match exec "test %h = yes"\n  Port 3\nMatch exec "exit 1"\n  User never\n`);
  assert.equal(readSshConfig({ host: 'yes', configFile: main }).port, 3);
  assert.equal(readSshConfig({ host: 'no', configFile: main }).port, 22);
  assert.notEqual(readSshConfig({ host: 'no', configFile: main }).user, 'never');
  assert.throws(() => readSshConfig({ host: 'h', configFile: join(dir, 'missing') }), ConfigError);
});
