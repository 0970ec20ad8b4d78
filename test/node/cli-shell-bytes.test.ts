// shellCommandText: a command holding bytes that are not UTF-8 reaches sh as
// printable ASCII and runs as those bytes, whatever they are, and a long
// command still fits in one argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellCommandText, shellProgram, shellQuote } from '../../src/cli/common/shell-bytes.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';

const shells = ['/bin/sh', '/bin/bash', '/bin/dash'].filter((s) => existsSync(s));

test('every byte but NUL comes back exactly, through each shell here, from printable ASCII text', () => {
  const all = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
  const word = pathFromBytes(all);
  const text = shellCommandText(`printf %s ${shellQuote(word)}`);
  assert.match(text, /^[\x20-\x7e]+$/);
  for (const sh of shells) {
    const r = spawnSync(sh, ['-c', text]);
    assert.equal(r.status, 0, `${sh}: ${r.stderr}`);
    assert.deepEqual(r.stdout, Buffer.from(all), sh);
  }
});

test('a long command with one such byte still runs (one argument holds at most 128 KiB)', () => {
  const ff = pathFromBytes(Uint8Array.from([0xff]));
  const text = shellCommandText(`: ${'a'.repeat(40_000)}; printf %s ${shellQuote(`x${ff}`)}`);
  assert.ok(text.length < 128 * 1024, String(text.length));
  const r = spawnSync('/bin/sh', ['-c', text]);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual(r.stdout, Buffer.from([0x78, 0xff]));
});

test('quotes, backslashes and printf directives in the command stay literal', () => {
  const ff = pathFromBytes(Uint8Array.from([0xff]));
  const word = `%s %b \\0101 \\\\ '"$HOME\`id\`${ff}`;
  const r = spawnSync('/bin/sh', ['-c', shellCommandText(`printf %s ${shellQuote(word)}`)]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual(r.stdout, Buffer.concat([Buffer.from(`%s %b \\0101 \\\\ '"$HOME\`id\``), Buffer.from([0xff])]));
  assert.equal(shellCommandText('plain ascii'), 'plain ascii');
});

test('shellProgram: the user\'s shell itself gets the bytes as its -c argument (a shell without $(...) too)', () => {
  const ff = pathFromBytes(Uint8Array.from([0xff]));
  assert.deepEqual(shellProgram('/bin/tcsh', 'ls'), { file: '/bin/tcsh', args: ['-c', 'ls'] });
  // A stand-in shell that prints the argument after its -c shows the exact bytes it was given.
  const dir = mkdtempSync(join(tmpdir(), 'nacre-shell-program-'));
  try {
    const stand = join(dir, 'shell');
    writeFileSync(stand, '#!/bin/sh\n[ "$1" = -c ] && printf %s "$2"\n', { mode: 0o755 });
    const { file, args } = shellProgram(stand, `ls x${ff}'\\`);
    assert.equal(file, '/bin/sh');
    const r = spawnSync(file, args);
    assert.equal(r.status, 0, String(r.stderr));
    assert.deepEqual(r.stdout, Buffer.concat([Buffer.from('ls x'), Buffer.from([0xff]), Buffer.from("'\\")]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
