// The interactive session's pure parts: ssh's escape sequences (a table, a
// byte-at-a-time model checked against random input split at random places),
// EscapeChar values, the `~C` command line and its line editing, and the
// terminal modes read from `stty -a` (GNU and BSD layouts, and a real
// pseudo-terminal's). Pure modules of src/cli, so they are tested here rather
// than in test/core, which may not import the tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as ptySpawn } from '@lydell/node-pty';
import { EscapeFilter, parseEscapeChar, escapeHelp, escapeEcho, verbosityEcho } from '../../src/cli/ssh/escape.js';
import { parseEscapeCommand, CommandLineEditor, ESCAPE_COMMAND_HELP, forwardingCommandLine } from '../../src/cli/ssh/escape-command.js';
import { parseSttyAll, parseControlCharacter } from '../../src/cli/ssh/tty-modes.js';
import { seededRandom } from '../../src/testing/random.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** The events of feeding `chunks` one after the other, with adjacent data merged, as a readable list. */
function run(filter: EscapeFilter, chunks: readonly string[]): string[] {
  const out: string[] = [];
  let lastWasData = false;
  for (const c of chunks) {
    for (const e of filter.feedAll(bytes(c))) {
      if (e.kind === 'action') out.push(`<${e.action}>`);
      else if (lastWasData) out[out.length - 1] += text(e.bytes);
      else out.push(text(e.bytes));
      lastWasData = e.kind === 'data';
    }
  }
  return out;
}

test('escapes: ssh’s sequences, only at the start of a line, ~~ and unknown ones passed on', () => {
  const cases: Array<[string[], string[]]> = [
    [['~.'], ['<disconnect>']], // the start of the session counts as a line start
    [['ls\r~.'], ['ls\r', '<disconnect>']],
    [['ls\n~.'], ['ls\n', '<disconnect>']],
    [['ls~.'], ['ls~.']], // not after a newline: plain text
    [['a\r~~b'], ['a\r~b']],
    [['~~.'], ['~.']], // ~~ sends one ~ and ends the line start
    [['~x'], ['~x']], // unknown: both sent
    [['~\r~.'], ['~\r', '<disconnect>']], // ~ then Enter: both sent, and the line starts again
    [['~?~.'], ['<help>', '<disconnect>']], // after an escape the line start stays
    [['~C'], ['<command-line>']],
    [['~\x1a'], ['<suspend>']],
    [['~B~R~V~v~&~#'], ['<break>', '<rekey>', '<verbosity-down>', '<verbosity-up>', '<background>', '<list>']],
    [['~', '.'], ['<disconnect>']], // split across chunks
    [['x\r', '~', '~', 'y'], ['x\r~y']],
    [['\r', '~'], ['\r']], // a pending ~ sends nothing yet
    [['abc'], ['abc']],
  ];
  for (const [chunks, expected] of cases) {
    assert.deepEqual(run(new EscapeFilter(0x7e), chunks), expected, JSON.stringify(chunks));
  }
});

test('escapes: another escape character, and none (fully transparent)', () => {
  assert.deepEqual(run(new EscapeFilter(0x25), ['~.%.']), ['~.%.']);
  assert.deepEqual(run(new EscapeFilter(0x25), ['%.']), ['<disconnect>']);
  assert.deepEqual(run(new EscapeFilter(0x1d), ['\x1d.']), ['<disconnect>']); // ^]
  const none = new EscapeFilter(null);
  assert.deepEqual(run(none, ['~.', '\r~.~C']), ['~.\r~.~C']);
  // An action the session cannot carry out means nothing: both bytes pass.
  assert.deepEqual(run(new EscapeFilter(0x7e, new Set(['background'])), ['~&~.']), ['~&~.']);
  assert.deepEqual(run(new EscapeFilter(0x7e, new Set(['background'])), ['~&\r~.']), ['~&\r', '<disconnect>']);
  assert.throws(() => new EscapeFilter(256), RangeError);
  assert.throws(() => new EscapeFilter(-1), RangeError);
});

test('escapes: feed stops after an action and hands back the rest', () => {
  const f = new EscapeFilter(0x7e);
  const r = f.feed(bytes('ab\r~C-L 1:h:2\r'));
  assert.deepEqual(r.events.map((e) => e.kind), ['data', 'action']);
  assert.equal(Buffer.from(r.rest).toString(), '-L 1:h:2\r');
});

/** ssh's loop (clientloop.c process_escapes), one byte at a time, as the reference. */
function model(esc: number, input: Uint8Array): string[] {
  const actions = new Map<number, string>([[0x2e, 'disconnect'], [0x1a, 'suspend'], [0x42, 'break'], [0x52, 'rekey'], [0x56, 'verbosity-down'], [0x76, 'verbosity-up'], [0x26, 'background'], [0x23, 'list'], [0x3f, 'help'], [0x43, 'command-line']]);
  const out: string[] = [];
  let lastWasCr = true;
  let pending = false;
  let data = '';
  const put = (b: number): void => void (data += String.fromCharCode(b));
  for (const ch of input) {
    if (pending) {
      pending = false;
      const a = ch === esc ? undefined : actions.get(ch);
      if (a) {
        if (data) out.push(data);
        data = '';
        out.push(`<${a}>`);
        continue;
      }
      if (ch !== esc) put(esc);
    } else if (lastWasCr && ch === esc) {
      pending = true;
      continue;
    }
    lastWasCr = ch === 0x0d || ch === 0x0a;
    put(ch);
  }
  if (data) out.push(data);
  return out;
}

test('escapes fuzz: random input split at random places matches the byte-at-a-time model; nothing throws', () => {
  const random = seededRandom('escape-fuzz');
  const alphabet = bytes('~~~..\r\n\rCBRVv&#?\x1aab%');
  for (let round = 0; round < 3000; round++) {
    const r = random(64);
    const len = r[0]! % 48;
    const input = new Uint8Array(len);
    for (let i = 0; i < len; i++) input[i] = r[1 + (i % 60)]! % 4 === 0 ? r[(i + 7) % 64]! : alphabet[r[1 + (i % 60)]! % alphabet.length]!;
    const esc = round % 5 === 0 ? 0x25 : 0x7e;
    // Split into random chunks.
    const chunks: string[] = [];
    let at = 0;
    let k = 0;
    while (at < len) {
      const size = 1 + (r[(k++ * 3) % 64]! % 7);
      chunks.push(Buffer.from(input.subarray(at, at + size)).toString('latin1'));
      at += size;
    }
    const got = run(new EscapeFilter(esc), chunks);
    const want = model(esc, input);
    assert.deepEqual(got, want, `input ${JSON.stringify(Buffer.from(input).toString('latin1'))}`);
    // Escapes count only at a line start: without CR and LF, and not starting with the escape character, nothing is an escape.
    const flat = Buffer.from(text(input).replace(/[\r\n]/g, ''), 'latin1');
    const escText = String.fromCharCode(esc);
    if (!text(input).replace(/[\r\n]/g, '').startsWith(escText)) {
      assert.ok(!new EscapeFilter(esc).feedAll(flat).some((e) => e.kind === 'action'));
    }
  }
  // Arbitrary bytes, any escape character: never throws.
  for (let round = 0; round < 2000; round++) {
    const r = random(80);
    const f = new EscapeFilter(r[0]!);
    f.feedAll(r.subarray(1));
    f.feedAll(r.subarray(40));
  }
});

test('EscapeChar values as ssh -e and ssh_config take them', () => {
  assert.equal(parseEscapeChar('~'), 0x7e);
  assert.equal(parseEscapeChar('%'), 0x25);
  assert.equal(parseEscapeChar('^]'), 0x1d);
  assert.equal(parseEscapeChar('^a'), 1);
  assert.equal(parseEscapeChar('none'), null);
  for (const bad of ['', 'ab', '^ab', 'é']) assert.throws(() => parseEscapeChar(bad), (e: Error) => e instanceof RangeError && e.message === `Bad escape character '${bad}'.`);
});

test('escape messages in ssh’s wording', () => {
  const help = escapeHelp(0x7e);
  assert.ok(help.startsWith('~?\r\nSupported escape sequences:\r\n ~.   - terminate connection (and any multiplexed sessions)\r\n'));
  assert.ok(help.includes(' ~C   - open a command line\r\n'));
  assert.ok(help.includes(' ~V/v - decrease/increase verbosity (LogLevel)\r\n'));
  assert.ok(help.includes(' ~^Z  - suspend ssh\r\n'));
  assert.ok(help.endsWith(' ~~   - send the escape character by typing it twice\r\n(Note that escapes are only recognized immediately after newline.)\r\n'));
  assert.ok(!escapeHelp(0x7e, false).includes('~C'));
  // Where it cannot go to the background, ssh (a mux client) leaves ~& out.
  assert.ok(!escapeHelp(0x7e, false, false).includes('~&'));
  assert.ok(escapeHelp(0x7e, false, false).includes(' ~#   - list forwarded connections\r\n ~?   - this message\r\n'));
  // OpenSSH 10's own ~? (EnableEscapeCommandline no), captured from ssh in tmux.
  assert.equal(
    escapeHelp(0x7e, false),
    [
      '~?',
      'Supported escape sequences:',
      ' ~.   - terminate connection (and any multiplexed sessions)',
      ' ~B   - send a BREAK to the remote system',
      ' ~R   - request rekey',
      ' ~V/v - decrease/increase verbosity (LogLevel)',
      ' ~^Z  - suspend ssh',
      ' ~#   - list forwarded connections',
      ' ~&   - background ssh (when waiting for connections to terminate)',
      ' ~?   - this message',
      ' ~~   - send the escape character by typing it twice',
      '(Note that escapes are only recognized immediately after newline.)',
      '',
    ].join('\r\n'),
  );
  assert.equal(escapeEcho(0x7e, 'disconnect'), '~.\r\n');
  assert.equal(escapeEcho(0x7e, 'suspend'), '~^Z [suspend ssh]\r\n');
  assert.equal(escapeEcho(0x7e, 'break'), '~B\r\n');
  assert.equal(escapeEcho(0x7e, 'rekey'), ''); // ssh 10 says nothing
  assert.equal(verbosityEcho(0x7e, 'verbosity-up', 'DEBUG1'), '~v [LogLevel DEBUG1]\r\n');
});

test('~C command lines: -L/-R/-D add, -K cancels, help, invalid', () => {
  assert.deepEqual(parseEscapeCommand('-L 8080:localhost:80'), { kind: 'add', forward: 'L', spec: '8080:localhost:80' });
  assert.deepEqual(parseEscapeCommand('  L8080:localhost:80'), { kind: 'add', forward: 'L', spec: '8080:localhost:80' });
  assert.deepEqual(parseEscapeCommand('-R 0:h:22'), { kind: 'add', forward: 'R', spec: '0:h:22' });
  assert.deepEqual(parseEscapeCommand('-D 1080'), { kind: 'add', forward: 'D', spec: '1080' });
  assert.deepEqual(parseEscapeCommand('-KL 8080'), { kind: 'cancel', forward: 'L', spec: '8080' });
  assert.deepEqual(parseEscapeCommand('-KD127.0.0.1:1080'), { kind: 'cancel', forward: 'D', spec: '127.0.0.1:1080' });
  assert.deepEqual(parseEscapeCommand(''), { kind: 'none' });
  assert.deepEqual(parseEscapeCommand('  -'), { kind: 'none' });
  for (const h of ['?', '-h', 'H']) assert.deepEqual(parseEscapeCommand(h), { kind: 'help' });
  for (const bad of ['-X', 'K', '-KX 1', '!ls', 'x']) assert.deepEqual(parseEscapeCommand(bad), { kind: 'invalid' });
  // PermitLocalCommand yes: `!` runs a local command (`-!` too: ssh skips one dash first).
  assert.deepEqual(parseEscapeCommand('!ls -l', true), { kind: 'local', command: 'ls -l' });
  assert.deepEqual(parseEscapeCommand(' -!true', true), { kind: 'local', command: 'true' });
  assert.equal(ESCAPE_COMMAND_HELP[0], 'Commands:');
  assert.equal(forwardingCommandLine({ kind: 'add', forward: 'L', spec: '8080:h:80' }), '-L 8080:h:80');
  assert.equal(forwardingCommandLine({ kind: 'cancel', forward: 'D', spec: '1080' }), '-KD 1080');
});

test('~C line editing in raw mode: echo, backspace, Ctrl-U, Ctrl-C, and the bytes after Enter', () => {
  const e = new CommandLineEditor();
  let r = e.feed(bytes('-Lx\x7f8'));
  assert.equal(r.echo, '-Lx\b \b8');
  assert.equal(r.line, undefined);
  r = e.feed(bytes('0\rls\r'));
  assert.equal(r.line, '-L80');
  assert.equal(r.echo, '0\r\n');
  assert.equal(Buffer.from(r.rest).toString(), 'ls\r');
  r = e.feed(bytes('abc\x15'));
  assert.equal(r.echo, 'abc' + '\b \b'.repeat(3));
  assert.equal(e.feed(bytes('\x03')).line, null);
  assert.equal(e.feed(bytes('\x04')).line, null); // Ctrl-D on an empty line
  assert.equal(e.feed(bytes('\x1b[A\n')).line, '[A'); // control bytes are dropped
  // Bounded.
  assert.equal(e.feed(new Uint8Array(5000).fill(0x61)).echo.length, 1024);
});

const GNU = `speed 38400 baud; rows 30; columns 100; line = 0;
intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; eol = <undef>; eol2 = <undef>; swtch = <undef>; start = ^Q; stop = ^S; susp = ^Z; rprnt = ^R; werase = ^W; lnext = ^V; discard = ^O; min = 1; time = 0;
-parenb -parodd -cmspar cs8 -hupcl -cstopb cread -clocal -crtscts
-ignbrk -brkint -ignpar -parmrk -inpck -istrip -inlcr -igncr icrnl ixon -ixoff -iuclc -ixany imaxbel iutf8
opost -olcuc -ocrnl onlcr -onocr -onlret -ofill -ofdel nl0 cr0 tab0 bs0 vt0 ff0
isig icanon iexten echo echoe echok -echonl -noflsh -xcase -tostop -echoprt echoctl echoke -flusho -extproc
`;

const BSD = `speed 9600 baud; 24 rows; 80 columns;
lflags: icanon isig iexten echo echoe -echok echoke -echonl echoctl
\t-echoprt -altwerase -noflsh -tostop -flusho pendin -nokerninfo
\t-extproc
iflags: -istrip icrnl -inlcr -igncr ixon -ixoff ixany imaxbel iutf8
\t-ignbrk brkint -inpck -ignpar -parmrk
oflags: opost onlcr -oxtabs -onocr -onlret
cflags: cread cs7 -parenb -parodd hupcl -clocal -cstopb -crtscts -dsrflow
\t-dtrflow -mdmbuf
cchars: discard = ^O; dsusp = ^Y; eof = ^D; eol = <undef>;
\teol2 = <undef>; erase = ^?; intr = ^C; kill = ^U; lnext = ^V;
\tmin = 1; quit = ^\\; reprint = ^R; start = ^Q; status = ^T;
\tstop = ^S; susp = ^Z; time = 0; werase = ^W;
`;

test('terminal modes from stty -a: GNU layout', () => {
  const s = parseSttyAll(GNU);
  assert.equal(s.rows, 30);
  assert.equal(s.cols, 100);
  const m = s.modes;
  assert.equal(m.VINTR, 3);
  assert.equal(m.VQUIT, 0x1c);
  assert.equal(m.VERASE, 127);
  assert.equal(m.VEOL, 255);
  assert.equal(m.VSWTCH, 255);
  assert.equal(m.VREPRINT, 18);
  assert.equal(m.ICANON, 1);
  assert.equal(m.ECHO, 1);
  assert.equal(m.ECHONL, 0);
  assert.equal(m.IXANY, 0);
  assert.equal(m.IUTF8, 1);
  assert.equal(m.OPOST, 1);
  assert.equal(m.PARENB, 0);
  assert.equal(m.CS8, 1);
  assert.equal(m.CS7, 1);
  assert.equal(m.TTY_OP_ISPEED, 38400);
  assert.equal(m.TTY_OP_OSPEED, 38400);
  assert.equal(m.min, undefined); // not a terminal mode
  assert.equal('VMIN' in m, false);
});

test('terminal modes from stty -a: BSD/macOS layout', () => {
  const s = parseSttyAll(BSD);
  assert.equal(s.rows, 24);
  assert.equal(s.cols, 80);
  const m = s.modes;
  assert.equal(m.VDSUSP, 25);
  assert.equal(m.VSTATUS, 20);
  assert.equal(m.VREPRINT, 18);
  assert.equal(m.PENDIN, 1);
  assert.equal(m.ECHOK, 0);
  assert.equal(m.IXANY, 1);
  assert.equal(m.CS7, 1);
  assert.equal(m.CS8, 0);
  assert.equal(m.TTY_OP_ISPEED, 9600);
});

test('terminal modes: control character spellings, and any text parses without throwing', () => {
  assert.equal(parseControlCharacter('^C'), 3);
  assert.equal(parseControlCharacter('^c'), 3);
  assert.equal(parseControlCharacter('^?'), 127);
  assert.equal(parseControlCharacter('M-^C'), 131);
  assert.equal(parseControlCharacter('M-a'), 128 + 97);
  assert.equal(parseControlCharacter('x'), 120);
  assert.equal(parseControlCharacter('<undef>'), 255);
  assert.equal(parseControlCharacter('^1'), null);
  assert.equal(parseControlCharacter('abc'), null);
  assert.deepEqual(parseSttyAll('').modes, {});
  const random = seededRandom('stty-fuzz');
  for (let i = 0; i < 2000; i++) {
    const r = random(200);
    const cut = GNU.slice(0, r[0]! % GNU.length) + Buffer.from(r).toString('latin1') + BSD.slice(r[1]! % BSD.length);
    const s = parseSttyAll(cut);
    for (const v of Object.values(s.modes)) assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});

test('terminal modes: a real pseudo-terminal’s stty -a, with one setting changed', async () => {
  const out = await new Promise<string>((resolve) => {
    const p = ptySpawn('/bin/sh', ['-c', 'stty -echo intr ^T; stty -a'], { cols: 91, rows: 33, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let text = '';
    p.onData((d) => (text += d));
    p.onExit(() => resolve(text));
  });
  const s = parseSttyAll(out);
  assert.equal(s.rows, 33);
  assert.equal(s.cols, 91);
  assert.equal(s.modes.ECHO, 0);
  assert.equal(s.modes.ICANON, 1);
  assert.equal(s.modes.VINTR, 20);
  assert.equal(s.modes.VERASE !== undefined, true);
});

