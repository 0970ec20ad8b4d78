// Terminal modes from a pty-req turned into stty arguments for the PTY runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sttyArguments, withTerminalSettings } from '../../src/server/terminal-settings.js';
import { decodeTerminalModes, encodeTerminalModes } from '../../src/core/connection/terminal-modes.js';

test('control characters: ^X for C0, ^? for DEL, printable as themselves, undef for 255', () => {
  assert.deepEqual(sttyArguments({ VINTR: 3, VQUIT: 28, VERASE: 127, VKILL: 21, VEOL: 255 }, 'linux'), [
    'intr', '^C', 'quit', '^\\', 'erase', '^?', 'kill', '^U', 'eol', 'undef',
  ]);
  // A digit is one character, so stty takes it literally (not as code 8).
  assert.deepEqual(sttyArguments({ VERASE: 8, VEOF: 0x38 }, 'linux'), ['erase', '^H', 'eof', '8']);
  // Codes 128-254 only GNU stty reads (as a number); elsewhere they are left out.
  assert.deepEqual(sttyArguments({ VEOL2: 200 }, 'linux'), ['eol2', '200']);
  assert.deepEqual(sttyArguments({ VEOL2: 200 }, 'darwin'), []);
  // Out of range for a character: dropped rather than refused by stty.
  assert.deepEqual(sttyArguments({ VINTR: 256 }, 'linux'), []);
});

test('flags: set or cleared; character size from CS8/CS7; known speeds only', () => {
  assert.deepEqual(sttyArguments({ ECHO: 0, ICANON: 1, ISIG: 5, OPOST: 1, ONLCR: 0 }, 'linux'), ['-echo', 'icanon', 'isig', 'opost', '-onlcr']);
  assert.deepEqual(sttyArguments({ CS7: 1, CS8: 1 }, 'linux'), ['cs8']);
  assert.deepEqual(sttyArguments({ CS7: 1, CS8: 0 }, 'linux'), ['cs7']);
  assert.deepEqual(sttyArguments({ CS7: 0, CS8: 0 }, 'linux'), []);
  assert.deepEqual(sttyArguments({ TTY_OP_ISPEED: 38400, TTY_OP_OSPEED: 9600 }, 'linux'), ['ispeed', '38400', 'ospeed', '9600']);
  assert.deepEqual(sttyArguments({ TTY_OP_ISPEED: 12345, TTY_OP_OSPEED: 4294967295 }, 'linux'), []);
});

test("settings this platform's stty does not know are left out (it would refuse them all)", () => {
  const modes = { VDSUSP: 25, VSTATUS: 20, VSWTCH: 0, PENDIN: 0, IUTF8: 1, XCASE: 0 };
  assert.deepEqual(sttyArguments(modes, 'linux'), ['swtch', '^@', 'iutf8', '-xcase']);
  assert.deepEqual(sttyArguments(modes, 'darwin'), ['dsusp', '^Y', 'status', '^T', '-pendin']);
  // An unknown platform is treated like Linux.
  assert.deepEqual(sttyArguments(modes, 'sunos'), sttyArguments(modes, 'linux'));
});

test('unnamed opcodes and empty modes give nothing; a decoded pty-req maps through', () => {
  assert.deepEqual(sttyArguments({}, 'linux'), []);
  assert.deepEqual(sttyArguments({ '44': 1, '160': 3 }, 'linux'), []);
  const modes = decodeTerminalModes(encodeTerminalModes({ VINTR: 24, ECHO: 1, '44': 7, TTY_OP_OSPEED: 38400 }));
  assert.deepEqual(sttyArguments(modes, 'linux'), ['intr', '^X', 'echo', 'ospeed', '38400']);
});

test('withTerminalSettings: the program itself when nothing is set, else stty then exec', () => {
  assert.deepEqual(withTerminalSettings('/bin/bash', ['-l'], []), { file: '/bin/bash', args: ['-l'] });
  const c = withTerminalSettings('/bin/bash', ['-c', "echo 'hi'"], ['intr', '^X', 'erase', "'"]);
  assert.equal(c.file, '/bin/sh');
  assert.deepEqual(c.args.slice(2), ['/bin/bash', '-c', "echo 'hi'"]);
  // Every stty argument is quoted for the shell, even a lone quote character.
  assert.equal(c.args[1], `stty 'intr' '^X' 'erase' ''\\'''; exec "$0" "$@"`.replace("; exec", " 2>/dev/null; exec"));
});
