// shellCommandText: a command holding bytes that are not UTF-8 reaches sh as
// printable ASCII and runs as those bytes, whatever they are, and a long
// command still fits in one argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { shellCommandText, shellQuote } from '../../src/cli/common/shell-bytes.js';
import { pathFromBytes } from '../../src/sftp/path-bytes.js';

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
