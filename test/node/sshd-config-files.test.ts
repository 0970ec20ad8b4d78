// readSshdConfig on real files: Include globs in a directory (sorted, dot
// files skipped), relative paths made absolute against the working
// directory, and a missing main file as sshd reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSshdConfig, resolveSshdConfig, SshdConfigError } from '../../src/index.js';

test('readSshdConfig reads includes from disk and names missing files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-sshdcfg-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '20-b.conf'), 'MaxSessions 3\nAcceptEnv B\n');
    writeFileSync(join(dir, 'conf.d', '10-a.conf'), 'AcceptEnv A\n');
    writeFileSync(join(dir, 'conf.d', '.hidden.conf'), 'Bogus line\n');
    const main = join(dir, 'sshd_config');
    writeFileSync(main, 'Include conf.d/*.conf\nHostKey keys/host\nMaxSessions 5\n');
    const parsed = readSshdConfig(main, { sshDirectory: dir, cwd: '/srv' });
    assert.deepEqual(parsed.files, [main, join(dir, 'conf.d', '10-a.conf'), join(dir, 'conf.d', '20-b.conf')]);
    const s = resolveSshdConfig(parsed);
    assert.deepEqual(s.acceptEnv, ['A', 'B']);
    assert.equal(s.maxSessions, 3);
    assert.deepEqual(s.hostKeys, ['/srv/keys/host']);
    assert.throws(
      () => readSshdConfig(join(dir, 'absent')),
      (e: unknown) => e instanceof SshdConfigError && e.file === join(dir, 'absent') && /No such file or directory/.test(e.message),
    );
    writeFileSync(join(dir, 'conf.d', '30-bad.conf'), '\nPort nope\n');
    assert.throws(
      () => readSshdConfig(main, { sshDirectory: dir }),
      (e: unknown) => e instanceof SshdConfigError && e.file === join(dir, 'conf.d', '30-bad.conf') && e.line === 2,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
