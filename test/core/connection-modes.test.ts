// Terminal modes of "pty-req" (RFC 4254 §8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTerminalModes, decodeTerminalModes, TerminalModeOpcodes } from '../../src/core/connection/terminal-modes.js';
import { ReqPty } from '../../src/messages/channel-types.js';
import { toHex } from '../../src/wire/bytes.js';
import { ConnPair, openPair } from './connection-helpers.js';

test('terminal modes round trip', () => {
  const modes = { VINTR: 3, VERASE: 127, ECHO: 1, ICANON: 1, IUTF8: 1, CS8: 1, TTY_OP_ISPEED: 38400, TTY_OP_OSPEED: 38400 };
  const enc = encodeTerminalModes(modes);
  assert.equal(enc.length, 8 * 5 + 1);
  assert.equal(enc.at(-1), 0);
  assert.deepEqual(decodeTerminalModes(enc), modes);
  // Every named opcode survives.
  const all = Object.fromEntries(Object.keys(TerminalModeOpcodes).map((k, i) => [k, i * 1000 + 1]));
  assert.deepEqual(decodeTerminalModes(encodeTerminalModes(all)), all);
  assert.deepEqual(decodeTerminalModes(encodeTerminalModes({})), {});
  assert.deepEqual(encodeTerminalModes({}), new Uint8Array([0]));
});

test('terminal modes: exact bytes', () => {
  assert.equal(toHex(encodeTerminalModes({ ECHO: 1, TTY_OP_OSPEED: 9600 })), '35000000018100002580' + '00');
});

test('terminal modes: unnamed opcodes keep their number; 160+ stops parsing', () => {
  const bytes = new Uint8Array([
    0x2c, 0, 0, 0, 5, // opcode 44: no name
    0x35, 0, 0, 0, 0, // ECHO 0
    0xa0, 1, 2, 3, // opcode 160: argument unknown, parsing stops here
    0x36, 0, 0, 0, 1,
  ]);
  assert.deepEqual(decodeTerminalModes(bytes), { '44': 5, ECHO: 0 });
  assert.deepEqual(decodeTerminalModes(encodeTerminalModes({ '44': 5 })), { '44': 5 });
  // Missing TTY_OP_END is tolerated; nothing after TTY_OP_END is read.
  assert.deepEqual(decodeTerminalModes(new Uint8Array([0x35, 0, 0, 0, 1])), { ECHO: 1 });
  assert.deepEqual(decodeTerminalModes(new Uint8Array([0, 0x35])), {});
  assert.deepEqual(decodeTerminalModes(new Uint8Array(0)), {});
  // Repeats: the last wins.
  assert.deepEqual(decodeTerminalModes(new Uint8Array([0x35, 0, 0, 0, 1, 0x35, 0, 0, 0, 0, 0])), { ECHO: 0 });
});

test('terminal modes: truncated arguments are ProtocolErrors; bad input to encode is a RangeError', () => {
  assert.throws(() => decodeTerminalModes(new Uint8Array([0x35, 0, 0])), { name: 'ProtocolError' });
  assert.throws(() => decodeTerminalModes(new Uint8Array([0x80])), { name: 'ProtocolError' });
  assert.throws(() => encodeTerminalModes({ NOPE: 1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ '160': 1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ '0': 1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ ECHO: -1 }), RangeError);
  assert.throws(() => encodeTerminalModes({ ECHO: 2 ** 32 }), RangeError);
});

test('pty-req with modes through a channel', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  const modes = { VINTR: 3, ECHO: 1, TTY_OP_ISPEED: 115200 };
  pair.a.conn.channelRequest(
    mine,
    'pty-req',
    true,
    ReqPty.encode({ term: 'xterm-256color', columns: 80, rows: 24, widthPixels: 0, heightPixels: 0, modes: encodeTerminalModes(modes) }),
  );
  pair.pump();
  const req = pair.b.of('channel-request')[0]!;
  assert.equal(req.channel, theirs);
  const pty = ReqPty.decode(req.data);
  assert.equal(pty.term, 'xterm-256color');
  assert.deepEqual(decodeTerminalModes(pty.modes), modes);
  pair.b.conn.answerChannelRequest(theirs, true);
  pair.pump();
  assert.deepEqual(pair.a.of('channel-request-reply'), [{ type: 'channel-request-reply', channel: mine, success: true }]);
});
