// The shared layer of the command-line tools: getopt as OpenSSH's tools
// parse, the passphrase line editor, yes/no answers, one-line reads that
// leave the rest of the input, and how errors become exit codes. The
// terminal itself (echo off, restored on every way out) is driven through a
// real pseudo-terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getopt, lastValue, allValues, count, UsageError } from '../../src/cli/common/getopt.js';
import { PassphraseEditor, MAX_PASSPHRASE_CHARS } from '../../src/cli/common/line-editor.js';
import { askedYes, confirmOverwrite } from '../../src/cli/common/prompt.js';
import { readLineFromFd } from '../../src/cli/common/stdin-line.js';
import { runMain } from '../../src/cli/common/io.js';
import { CliExit, fatal } from '../../src/cli/common/exit.js';
import { Logger, logLevelFromFlags } from '../../src/cli/common/log.js';
import { fakeIo } from './cli-helpers.js';
import { seededRandom } from '../../src/testing/random.js';

const SPEC = 'lvqHy' + 'f:O:Y:n:E:';

test('getopt: clustered flags, attached and separate arguments, repeatable options', () => {
  const p = getopt(['-lv', '-fkey', '-O', 'a=1', '-Ob=2', '-vq', 'file'], SPEC);
  assert.deepEqual(p.operands, ['file']);
  assert.equal(lastValue(p, 'f'), 'key');
  assert.deepEqual(allValues(p, 'O'), ['a=1', 'b=2']);
  assert.equal(count(p, 'v'), 2);
  assert.equal(count(p, 'q'), 1);
  // A flag cluster ending in an option with its argument attached or next.
  assert.equal(lastValue(getopt(['-lfkey'], SPEC), 'f'), 'key');
  assert.equal(lastValue(getopt(['-lf', 'key'], SPEC), 'f'), 'key');
  // The argument may start with a dash or be empty.
  assert.equal(lastValue(getopt(['-f', '-l'], SPEC), 'f'), '-l');
  assert.equal(lastValue(getopt(['-f', ''], SPEC), 'f'), '');
  // The last -f wins.
  assert.equal(lastValue(getopt(['-f', 'a', '-f', 'b'], SPEC), 'f'), 'b');
  // A letter listed twice is what its first listing says (ssh-keygen lists `g` as a flag and as `g:`).
  assert.deepEqual(getopt(['-g', '-f', 'k'], 'g' + 'f:g:').options, [{ flag: 'g' }, { flag: 'f', value: 'k' }]);
});

test("getopt: options end at --, at '-', at an empty word and at the first operand (no permuting, as OpenSSH's getopt)", () => {
  assert.deepEqual(getopt(['-l', '--', '-v'], SPEC).operands, ['-v']);
  assert.deepEqual(getopt(['-l', '-', '-v'], SPEC).operands, ['-', '-v']);
  // git's find-principals call ends with an empty argument.
  const git = getopt(['-Y', 'find-principals', '-f', 'allowed', '-s', 'sig', ''], SPEC + 's:');
  assert.deepEqual(git.operands, ['']);
  assert.equal(lastValue(git, 's'), 'sig');
  const late = getopt(['-l', 'file', '-v'], SPEC);
  assert.deepEqual(late.operands, ['file', '-v']);
  assert.equal(count(late, 'v'), 0);
  assert.deepEqual(getopt([], SPEC), { options: [], operands: [] });
});

test("getopt: refuses unknown flags and missing arguments in getopt's words", () => {
  assert.throws(() => getopt(['-x'], SPEC), new UsageError('unknown option -- x'));
  assert.throws(() => getopt(['-lx'], SPEC), new UsageError('unknown option -- x'));
  assert.throws(() => getopt(['--help'], SPEC), new UsageError('unknown option -- -'));
  assert.throws(() => getopt(['-f'], SPEC), new UsageError('option requires an argument -- f'));
  assert.throws(() => getopt(['-lf'], SPEC), new UsageError('option requires an argument -- f'));
  // ':' is never a flag.
  assert.throws(() => getopt(['-:'], SPEC), new UsageError('unknown option -- :'));
});

test('passphrase editor: Enter ends, Backspace and Ctrl-U edit, Ctrl-C interrupts, Ctrl-D on an empty line is end of input', () => {
  const e = new PassphraseEditor();
  assert.deepEqual(e.feed('sec'), { state: 'more' });
  assert.deepEqual(e.feed('rex\x7f\bet\r'), { state: 'done', value: 'secret' });
  assert.deepEqual(new PassphraseEditor().feed('abc\x15xy\n'), { state: 'done', value: 'xy' });
  assert.deepEqual(new PassphraseEditor().feed('abc\x03'), { state: 'interrupted' });
  assert.deepEqual(new PassphraseEditor().feed('\x04'), { state: 'eof' });
  assert.deepEqual(new PassphraseEditor().feed('a\x04b\r'), { state: 'done', value: 'ab' });
  assert.deepEqual(new PassphraseEditor().feed('pässwörd\r'), { state: 'done', value: 'pässwörd' });
  const long = new PassphraseEditor().feed('x'.repeat(MAX_PASSPHRASE_CHARS + 50) + '\r');
  assert.ok(long.state === 'done' && long.value.length === MAX_PASSPHRASE_CHARS);
});

test('yes/no: only an answer starting with y or Y says yes; the question goes to stdout as ssh-keygen asks it', () => {
  for (const yes of ['y', 'Y', 'yes', 'yep']) assert.equal(askedYes(yes), true, yes);
  for (const no of ['n', '', ' y', 'N', null]) assert.equal(askedYes(no), false, String(no));
  const io = fakeIo({ lines: ['y'] });
  assert.equal(confirmOverwrite(io, 'key', () => true), true);
  assert.equal(io.stdout(), 'key already exists.\nOverwrite (y/n)? ');
  const none = fakeIo();
  assert.equal(confirmOverwrite(none, 'key', () => true), false, 'end of input is no');
  const fresh = fakeIo();
  assert.equal(confirmOverwrite(fresh, 'key', () => false), true);
  assert.equal(fresh.stdout(), '', 'no question for a file that is not there');
});

test('reading one line leaves the rest of the input unread; CRLF and a last line without newline are lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-cli-'));
  try {
    const f = join(dir, 'in');
    writeFileSync(f, 'yes\r\nsecond\nlast');
    const fd = openSync(f, 'r');
    try {
      assert.equal(readLineFromFd(fd), 'yes');
      assert.equal(readLineFromFd(fd), 'second');
      assert.equal(readLineFromFd(fd), 'last');
      assert.equal(readLineFromFd(fd), null);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit codes: a result, CliExit with its message on stderr, fatal as 255, any other error as 255 with its message', async () => {
  const io = fakeIo();
  assert.equal(await runMain(async () => 3, [], io), 3);
  assert.equal(await runMain(async () => { throw new CliExit(1, 'usage: x'); }, [], io), 1);
  assert.equal(await runMain(async () => fatal('Load key "k": invalid format'), [], io), 255);
  assert.equal(await runMain(async () => { throw new Error('boom'); }, [], io), 255);
  assert.equal(await runMain(async () => { throw new CliExit(1); }, [], io), 1);
  assert.equal(io.stderr(), 'usage: x\nLoad key "k": invalid format\nboom\n');
});

test("logging: OpenSSH's levels from -q and -v, debug lines prefixed", () => {
  assert.equal(logLevelFromFlags(false, 0), 'info');
  assert.equal(logLevelFromFlags(true, 3), 'quiet');
  assert.equal(logLevelFromFlags(false, 1), 'debug1');
  assert.equal(logLevelFromFlags(false, 7), 'debug3');
  let out = '';
  const log = new Logger((t) => (out += t), 'debug1');
  log.error('e');
  log.info('i');
  log.verbose('v');
  log.debug(1, 'd1');
  log.debug(2, 'd2');
  assert.equal(out, 'e\ni\nv\ndebug1: d1\n');
  out = '';
  const quiet = new Logger((t) => (out += t), 'quiet');
  quiet.error('e');
  quiet.info('i');
  assert.equal(out, '');
  const normal = new Logger((t) => (out += t));
  normal.info('shown');
  normal.verbose('hidden');
  normal.debug(1, 'hidden');
  assert.equal(out, 'shown\n');
});

test('fuzz: random command lines either parse (every word accounted for) or fail with a UsageError', () => {
  const rand = seededRandom('getopt-fuzz');
  const pieces = ['-', '--', '-l', '-lv', '-f', '-fx', '-O', '-x', '-Y', 'sign', '', 'file', '-qH', '-E', '-:', '-v-', '---'];
  for (let i = 0; i < 5000; i++) {
    const r = rand(8);
    const args = Array.from(r.subarray(0, r[0]! % 8), (b) => pieces[b % pieces.length]!);
    try {
      const p = getopt(args, SPEC);
      const consumed = args.length - p.operands.length;
      assert.ok(consumed >= 0 && consumed <= args.length);
      assert.deepEqual(p.operands, args.slice(consumed));
      for (const o of p.options) assert.ok(SPEC.includes(o.flag) && o.flag !== ':');
    } catch (err) {
      assert.ok(err instanceof UsageError, `${JSON.stringify(args)}: ${String(err)}`);
    }
  }
});
