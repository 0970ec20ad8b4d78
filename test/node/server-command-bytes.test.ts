// A command that is not UTF-8 reaches the shell as its bytes (commandProgram):
// Node hands a child UTF-8 strings only, so such a command goes through
// /bin/sh, which decodes its ASCII spelling back into the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandProgram } from '../../src/server/exec-handler.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';

test('a UTF-8 command is run as shell -c command', () => {
  assert.deepEqual(commandProgram('/bin/bash', 'echo é'), { file: '/bin/bash', args: ['-c', 'echo é'] });
});

test('every byte but NUL, newline and the quote reaches the shell as itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-command-bytes-'));
  try {
    const payload: number[] = [];
    for (let b = 1; b < 256; b++) if (b !== 0x0a && b !== 0x27) payload.push(b);
    const out = join(dir, 'out');
    // printf %s '<bytes>' > out: the bytes inside single quotes are literal to the shell.
    const command = pathFromBytes(Buffer.concat([Buffer.from(`printf %s '`), Buffer.from(payload), Buffer.from(`' > '${out}'`)]));
    for (const shell of ['/bin/sh', '/bin/bash']) {
      const { file, args } = commandProgram(shell, command);
      assert.equal(file, '/bin/sh');
      assert.ok(args.every((a) => /^[\x20-\x7e]*$/.test(a)), 'the arguments are printable ASCII');
      const r = spawnSync(file, args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual([...readFileSync(out)], payload, shell);
      rmSync(out);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shell itself is what runs the command (its $0), with the exit status', () => {
  const command = pathFromBytes(Buffer.concat([Buffer.from('echo "$0" '), Buffer.from([0xe9]), Buffer.from('; exit 7')]));
  const { file, args } = commandProgram('/bin/bash', command);
  const r = spawnSync(file, args);
  assert.equal(r.status, 7);
  assert.deepEqual([...r.stdout], [...Buffer.from('/bin/bash '), 0xe9, 0x0a]);
});

test('trailing newlines of such a command are kept, and a NUL is refused', () => {
  const command = pathFromBytes(Buffer.concat([Buffer.from("printf %s '"), Buffer.from([0xff, 0x0a, 0x0a]), Buffer.from("'")]));
  const { file, args } = commandProgram('/bin/sh', command);
  const r = spawnSync(file, args);
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual([...r.stdout], [0xff, 0x0a, 0x0a]);
  // A quote cut off by lost newlines would have failed above; a NUL cannot reach a shell at all.
  assert.throws(() => commandProgram('/bin/sh', 'a\0b'), RangeError);
  const ends = pathFromBytes(Buffer.concat([Buffer.from('printf x'), Buffer.from([0xff]), Buffer.from('\n\n')]));
  const e = commandProgram('/bin/sh', ends);
  assert.deepEqual([...spawnSync(e.file, e.args).stdout], [0x78, 0xff]);
});
