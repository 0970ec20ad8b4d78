// Rewriting known_hosts: a failure at any step leaves the user's file exactly
// as it was and no temporary file behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyFileError } from '../../src/keys/index.js';
import { updateKnownHostsFile, nodeKnownHostsFileOps, type KnownHostsFileOps } from '../../src/client/known-hosts-file.js';

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

for (const [step, ops] of [
  ['rename', { ...nodeKnownHostsFileOps, rename: () => Promise.reject(boom) }],
  [
    'write (after half of the text reached the temporary file)',
    {
      ...nodeKnownHostsFileOps,
      async writeNew(path: string, text: string, mode: number) {
        await nodeKnownHostsFileOps.writeNew(path, text.slice(0, 10), mode);
        throw boom;
      },
    },
  ],
  ['making the directory', { ...nodeKnownHostsFileOps, makeDirectory: () => Promise.reject(boom) }],
] as [string, KnownHostsFileOps][]) {
  test(`a failure at ${step} leaves known_hosts intact and removes the temporary file`, async () => {
    const { dir, path } = existingFile();
    await assert.rejects(
      updateKnownHostsFile(path, append, ops),
      (e: unknown) => e instanceof KeyFileError && e.problem === 'io' && e.path === path && e.cause === boom && /cannot write the known_hosts file: disk full/.test(e.message),
    );
    assert.equal(readFileSync(path, 'utf8'), ORIGINAL);
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
  });
}

test('a failure reading the file is a KeyFileError and nothing is written', async () => {
  const { path } = existingFile();
  let wrote = false;
  const ops: KnownHostsFileOps = { ...nodeKnownHostsFileOps, read: () => Promise.reject(boom), writeNew: async () => void (wrote = true) };
  await assert.rejects(updateKnownHostsFile(path, append, ops), (e: unknown) => e instanceof KeyFileError && /cannot read/.test(e.message));
  assert.equal(wrote, false);
});

test('the new text goes to a temporary file in the same directory, renamed over the file; a refusing or null change writes nothing', async () => {
  const { dir, path } = existingFile();
  const renames: [string, string][] = [];
  const ops: KnownHostsFileOps = {
    ...nodeKnownHostsFileOps,
    rename: (from, to) => {
      renames.push([from, to]);
      return nodeKnownHostsFileOps.rename(from, to);
    },
  };
  await updateKnownHostsFile(path, append, ops);
  assert.equal(readFileSync(path, 'utf8'), append(ORIGINAL));
  assert.equal(renames.length, 1);
  assert.equal(dirname(renames[0]![0]), dir);
  assert.equal(renames[0]![1], path);

  const refusal = new Error('no');
  await assert.rejects(updateKnownHostsFile(path, () => { throw refusal; }, ops), (e) => e === refusal);
  await updateKnownHostsFile(path, () => null, ops);
  assert.equal(renames.length, 1);
  assert.equal(readFileSync(path, 'utf8'), append(ORIGINAL));
  assert.deepEqual(readdirSync(dir), ['known_hosts']);
});
