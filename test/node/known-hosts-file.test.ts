// Rewriting known_hosts: a failure at any step leaves the user's file exactly
// as it was and no temporary file behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyFileError } from '../../src/keys/index.js';
import { updateKnownHostsFile } from '../../src/client/known-hosts-file.js';
import type { AtomicWriteSteps } from '../../src/io/node/files.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ORIGINAL = 'old.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n';

function existingFile(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-khfile-'));
  dirs.push(dir);
  const path = join(dir, 'known_hosts');
  writeFileSync(path, ORIGINAL, { mode: 0o600 });
  return { dir, path };
}

const boom = new Error('disk full');
const append = (current: string) => current + 'new.example ssh-ed25519 AAAA\n';

for (const [step, steps] of [
  ['rename', { rename: () => { throw boom; } }],
  [
    'write (after part of the text reached the temporary file)',
    {
      write(fd: number, data: Uint8Array) {
        writeSync(fd, data, 0, 10);
        throw boom;
      },
    },
  ],
  ['making the directory', { makeDirectory: () => { throw boom; } }],
] as [string, Partial<AtomicWriteSteps>][]) {
  test(`a failure at ${step} leaves known_hosts intact and removes the temporary file`, async () => {
    const { dir, path } = existingFile();
    await assert.rejects(
      updateKnownHostsFile(path, append, steps),
      (e: unknown) => e instanceof KeyFileError && e.problem === 'io' && e.path === path && e.cause === boom && /cannot write known_hosts file \(disk full\)/.test(e.message),
    );
    assert.equal(readFileSync(path, 'utf8'), ORIGINAL);
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
  });
}

test('a known_hosts that cannot be read is a KeyFileError and nothing is written', async () => {
  const { dir } = existingFile();
  let wrote = false;
  // A directory where the file should be.
  await assert.rejects(updateKnownHostsFile(dir, append, { write: () => void (wrote = true) }), (e: unknown) => e instanceof KeyFileError && e.path === dir && /known_hosts file is not a regular file/.test(e.message));
  assert.equal(wrote, false);
});

test('the new text goes to a temporary file in the same directory, renamed over the file; a refusing or null change writes nothing', async () => {
  const { dir, path } = existingFile();
  const renames: [string, string][] = [];
  const steps: Partial<AtomicWriteSteps> = {
    rename: (from, to) => {
      renames.push([from, to]);
      renameSync(from, to);
    },
  };
  await updateKnownHostsFile(path, append, steps);
  assert.equal(readFileSync(path, 'utf8'), append(ORIGINAL));
  assert.equal(renames.length, 1);
  assert.equal(dirname(renames[0]![0]), dir);
  assert.equal(renames[0]![1], path);

  const refusal = new Error('no');
  await assert.rejects(updateKnownHostsFile(path, () => { throw refusal; }, steps), (e) => e === refusal);
  await updateKnownHostsFile(path, () => null, steps);
  assert.equal(renames.length, 1);
  assert.equal(readFileSync(path, 'utf8'), append(ORIGINAL));
  assert.deepEqual(readdirSync(dir), ['known_hosts']);
});

test('a new file is 0600 in a directory made 0700; an existing file keeps its mode', async () => {
  const { dir, path } = existingFile();
  const fresh = join(dir, 'sub', 'known_hosts');
  await updateKnownHostsFile(fresh, append);
  assert.equal(statSync(fresh).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(fresh)).mode & 0o777, 0o700);
  chmodSync(path, 0o644);
  await updateKnownHostsFile(path, append);
  assert.equal(statSync(path).mode & 0o777, 0o644);
});
