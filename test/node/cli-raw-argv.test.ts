// The tools' arguments as raw bytes (src/cli/common/raw-argv.ts): the tail
// of /proc/self/cmdline taken only where it agrees with what Node decoded,
// and process.argv otherwise; random and cut-off cmdlines never give
// anything but one or the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matchRawArguments, rawArguments } from '../../src/cli/common/raw-argv.js';
import { pathToBytes } from '../../src/sftp-entry.js';

const enc = (...words: (string | number[])[]): Uint8Array => {
  const parts = words.map((w) => (typeof w === 'string' ? Buffer.from(w, 'utf8') : Buffer.from(w)));
  return Buffer.concat(parts.flatMap((p) => [p, Buffer.from([0])]));
};
const lossy = (b: number[]): string => new TextDecoder().decode(new Uint8Array(b));

test('the raw bytes of the arguments replace the ones Node decoded with U+FFFD', () => {
  const ff = [0xff];
  const cafe = [0x63, 0x61, 0x66, 0xe9];
  const cmdline = enc('/usr/bin/node', '--stack-size=900', '/x/nacre-scp.js', '-q', ff, 'h:' , cafe);
  const argv = ['-q', lossy(ff), 'h:', lossy(cafe)];
  const out = matchRawArguments(argv, cmdline);
  assert.deepEqual(out, ['-q', '\uDCFF', 'h:', 'caf\uDCE9']);
  assert.deepEqual([...pathToBytes(out[1]!)], ff);
  assert.deepEqual([...pathToBytes(out[3]!)], cafe);
});

test('UTF-8 arguments stay as they are, and nothing is read when none has U+FFFD', () => {
  assert.deepEqual(matchRawArguments(['é', 'a b'], enc('node', 's', 'é', 'a b')), ['é', 'a b']);
  assert.deepEqual(rawArguments(['a', 'ü'], () => assert.fail('cmdline read without need')), ['a', 'ü']);
  assert.deepEqual(matchRawArguments([], enc('node')), []);
  // A real U+FFFD typed as such is its own UTF-8 bytes.
  assert.deepEqual(matchRawArguments(['\uFFFD'], enc('node', 's', '\uFFFD')), ['\uFFFD']);
});

test('any disagreement falls back to process.argv as Node gave it', () => {
  const argv = ['x', lossy([0xff])];
  // Another word in the place of one argument.
  assert.deepEqual(matchRawArguments(argv, enc('node', 's', 'y', [0xff])), argv);
  // Fewer words than arguments.
  assert.deepEqual(matchRawArguments(argv, enc([0xff])), argv);
  // A cmdline cut off inside its last word.
  assert.deepEqual(matchRawArguments(argv, enc('node', 's', 'x', [0xff]).subarray(0, 9)), argv);
  // A rewritten process title: one word.
  assert.deepEqual(matchRawArguments(argv, enc('nacre-scp: copying')), argv);
  // No /proc.
  assert.deepEqual(rawArguments(argv, () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); }), argv);
});

test('random cmdlines give the raw arguments or process.argv, nothing else', () => {
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 3000; round++) {
    const words: number[][] = [];
    const count = 1 + rand(5);
    for (let i = 0; i < count; i++) words.push(Array.from({ length: rand(6) }, () => (rand(3) === 0 ? 0x80 + rand(128) : 1 + rand(127))));
    const argc = rand(count + 1);
    const real = words.slice(count - argc);
    const argv = real.map(lossy);
    let cmdline: Uint8Array = enc(...words);
    if (rand(4) === 0) cmdline = cmdline.subarray(0, rand(cmdline.length + 1));
    if (rand(4) === 0 && cmdline.length > 0) {
      cmdline = Uint8Array.from(cmdline);
      const at = rand(cmdline.length);
      cmdline[at] = cmdline[at]! ^ (1 << rand(8));
    }
    const out = matchRawArguments(argv, cmdline);
    assert.ok(JSON.stringify(out) === JSON.stringify(argv) || out.every((s, i) => lossy([...pathToBytes(s)]) === argv[i]), `round ${round}`);
    if (JSON.stringify(out) !== JSON.stringify(argv)) assert.equal(out.length, argv.length);
  }
});

test('a real process gets its raw arguments back from /proc/self/cmdline', { skip: process.platform !== 'linux' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'raw-argv-'));
  try {
    const script = join(dir, 'print.mjs');
    writeFileSync(script, `import { rawArguments } from '${new URL('../../src/cli/common/raw-argv.js', import.meta.url).href}';\nprocess.stdout.write(JSON.stringify(rawArguments()));\n`);
    // Node's spawn takes arguments as strings only: the shell makes the byte.
    const r = spawnSync('/bin/sh', ['-c', `exec "$0" "$1" "$(printf 'a\\377')" ok`, process.execPath, script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['a\uDCFF', 'ok']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
