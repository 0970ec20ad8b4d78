// The sftp> prompt's input decoding (src/cli/sftp/terminal-input.ts): bytes
// in any chunking decode as pathFromBytes decodes them whole (a character
// split across reads stays one character, a stray byte becomes its escape),
// and node:readline over EscapedTerminalInput hands the commands lines that
// keep the bytes, while pause, resume and raw mode reach the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { ByteEscapingDecoder, EscapedTerminalInput, type RawTerminal } from '../../src/cli/sftp/terminal-input.js';
import { pathFromBytes } from '../../src/sftp/path-bytes.js';

function decodeInChunks(bytes: Uint8Array, cuts: number[]): string {
  const d = new ByteEscapingDecoder();
  let out = '';
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out += d.write(bytes.subarray(at, cut));
    at = cut;
  }
  return out + d.end();
}

test('any chunking of any bytes decodes as pathFromBytes decodes them whole', () => {
  let seed = 11;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  // Bytes drawn mostly from UTF-8's interesting ranges, with real characters mixed in.
  const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0x80], [0xe2, 0x82], [0xf0, 0x9f], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x0d]];
  for (let round = 0; round < 4000; round++) {
    const parts: number[] = [];
    for (let i = rand(8); i >= 0; i--) parts.push(...(rand(5) === 0 ? [rand(256)] : pieces[rand(pieces.length)]!));
    const bytes = Uint8Array.from(parts);
    const cuts = Array.from({ length: rand(4) }, () => rand(bytes.length + 1)).sort((a, b) => a - b);
    assert.equal(decodeInChunks(bytes, cuts), pathFromBytes(bytes), `bytes ${Buffer.from(bytes).toString('hex')} cut at ${cuts}`);
  }
});

test('a character split across reads waits for its end; a stray byte comes out at once', () => {
  const d = new ByteEscapingDecoder();
  assert.equal(d.write(Uint8Array.from([0x63, 0xc3])), 'c');
  assert.equal(d.write(Uint8Array.from([0xa9])), 'é');
  assert.equal(d.write(Uint8Array.from([0xff, 0x0d])), '\uDCFF\r');
  assert.equal(d.write(Uint8Array.from([0xe2, 0x82])), '');
  assert.equal(d.write(Uint8Array.from([0x0d])), '\uDCE2\uDC82\r');
  assert.equal(d.write(Uint8Array.from([0xf0])), '');
  assert.equal(d.end(), '\uDCF0');
});

class FakeTerminal extends EventEmitter implements RawTerminal {
  isTTY = true;
  isRaw = false;
  paused = false;
  setRawMode(mode: boolean): void {
    this.isRaw = mode;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

test('readline over EscapedTerminalInput gives lines holding the typed bytes; pause and raw mode reach the terminal', async () => {
  const term = new FakeTerminal();
  const input = new EscapedTerminalInput(term);
  const rl = createInterface({ input: input as unknown as NodeJS.ReadableStream, output: new PassThrough(), terminal: true });
  assert.equal(term.isRaw, true, 'readline set raw mode on the terminal');
  const lines: string[] = [];
  rl.on('line', (l) => lines.push(l));
  term.emit('data', Buffer.from([0x6c, 0x63, 0x64, 0x20, 0x78, 0xff]));
  term.emit('data', Buffer.from([0xc3]));
  term.emit('data', Buffer.from([0xa9, 0x0d]));
  // Backspace removes the escaped byte as one character.
  term.emit('data', Buffer.from([0x61, 0xfe, 0x7f, 0x62, 0x0d]));
  assert.deepEqual(lines, ['lcd x\uDCFFé', 'ab']);
  rl.pause();
  assert.equal(term.paused, true);
  rl.resume();
  assert.equal(term.paused, false);
  rl.close();
  assert.equal(term.isRaw, false);
  input.detach();
  assert.equal(term.listenerCount('data'), 0);
  term.emit('data', Buffer.from('ignored\r'));
  assert.deepEqual(lines, ['lcd x\uDCFFé', 'ab']);
});
