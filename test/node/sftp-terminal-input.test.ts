// The sftp> prompt's input decoding (src/cli/sftp/terminal-input.ts): bytes
// in any chunking decode as pathFromBytes decodes them whole (a character
// split across reads stays one character, a stray byte becomes its escape),
// and node:readline over EscapedTerminalInput hands the commands lines that
// keep the bytes, while pause, resume and raw mode reach the terminal; with
// showEscapedBytes such a byte is drawn as `\377` (on a small terminal
// emulated here) with the cursor, wrapping, deletion and completion right,
// and the second Tab's candidate list in columns as wide as what is drawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { ByteEscapingDecoder, EscapedTerminalInput, candidatesAsShown, showEscapedBytes, type RawTerminal } from '../../src/cli/sftp/terminal-input.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';

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

test('a paste into the middle of the line lands at the cursor, not at the end (readline inserts a longer chunk at the end)', () => {
  const term = new FakeTerminal();
  const input = new EscapedTerminalInput(term);
  const rl = createInterface({ input: input as unknown as NodeJS.ReadableStream, output: new PassThrough(), terminal: true });
  const lines: string[] = [];
  rl.on('line', (l) => lines.push(l));
  // Typed, Home, a paste in one chunk, Enter.
  term.emit('data', Buffer.from('abc'));
  term.emit('data', Buffer.from('\x1b[H'));
  term.emit('data', Buffer.from('XYZ'));
  term.emit('data', Buffer.from('\r'));
  // Typed, two Lefts in one chunk, a paste holding a byte that is not UTF-8, Enter.
  term.emit('data', Buffer.from('!echo /x/'));
  term.emit('data', Buffer.from('\x1b[D\x1b[D'));
  term.emit('data', Buffer.from([0x50, 0xff, 0x51]));
  term.emit('data', Buffer.from('\r'));
  assert.deepEqual(lines, ['XYZabc', '!echo /P\uDCFFQx/']);
  rl.close();
  input.detach();
});

test('a long paste at the end of the line goes to readline whole; anywhere else one character at a time', () => {
  const term = new FakeTerminal();
  const input = new EscapedTerminalInput(term);
  const rl = createInterface({ input: input as unknown as NodeJS.ReadableStream, output: new PassThrough(), terminal: true });
  input.cursorAtEnd = () => rl.cursor === rl.line.length;
  let events = 0;
  input.on('data', () => events++);
  const lines: string[] = [];
  rl.on('line', (l) => lines.push(l));
  const paste = 'x'.repeat(20_000);
  term.emit('data', Buffer.from('put ' + paste));
  assert.equal(events, 1);
  term.emit('data', Buffer.from('\x1b[H'));
  events = 0;
  term.emit('data', Buffer.from('ab'));
  assert.equal(events, 2);
  term.emit('data', Buffer.from('\r'));
  assert.deepEqual(lines, ['abput ' + paste]);
  rl.close();
  input.detach();
});

/**
 * A terminal screen for what readline writes: text (wrapping at once at the
 * last column), CR, LF, and the CSI sequences it uses (G column, C/D right
 * and left, A/B up and down, J erase below, K erase in line).
 */
class Screen {
  rows: string[][] = [[]];
  row = 0;
  col = 0;

  constructor(readonly columns: number) {}

  write(text: string): void {
    for (let i = 0; i < text.length; ) {
      const csi = /^\x1b\[(\d*)([A-Za-z])/.exec(text.slice(i));
      if (csi) {
        const n = csi[1] === '' ? 1 : Number(csi[1]);
        switch (csi[2]) {
          case 'G': this.col = Math.max(0, n - 1); break;
          case 'C': this.col = Math.min(this.columns - 1, this.col + n); break;
          case 'D': this.col = Math.max(0, this.col - n); break;
          case 'A': this.row = Math.max(0, this.row - n); break;
          case 'B': this.row += n; break;
          case 'J': this.line().length = Math.min(this.line().length, this.col); this.rows.length = this.row + 1; break;
          case 'K': this.line().length = Math.min(this.line().length, this.col); break;
          default: throw new Error(`unexpected sequence ${JSON.stringify(csi[0])}`);
        }
        i += csi[0].length;
        continue;
      }
      const c = String.fromCodePoint(text.codePointAt(i)!);
      i += c.length;
      if (c === '\r') this.col = 0;
      else if (c === '\n') this.row++;
      else {
        const line = this.line();
        while (line.length < this.col) line.push(' ');
        line[this.col] = c;
        if (++this.col === this.columns) {
          this.col = 0;
          this.row++;
        }
      }
      this.line();
    }
  }

  private line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row]!;
  }

  text(): string[] {
    return this.rows.map((r) => r.join('').trimEnd());
  }
}

/** An sftp-like prompt over a fake terminal of `columns`, drawing on a Screen. */
function prompt(columns: number, completer?: (line: string) => [string[], string]) {
  const term = new FakeTerminal();
  const input = new EscapedTerminalInput(term);
  const screen = new Screen(columns);
  const output = new PassThrough();
  Object.assign(output, { isTTY: true, columns });
  output.on('data', (d: Buffer) => screen.write(d.toString('utf8')));
  const rl = createInterface({ input: input as unknown as NodeJS.ReadableStream, output, terminal: true, prompt: 'sftp> ', ...(completer ? { completer } : {}) });
  assert.equal(showEscapedBytes(rl), true);
  const lines: string[] = [];
  rl.on('line', (l) => lines.push(l));
  rl.prompt();
  return {
    rl,
    screen,
    lines,
    /** Typed bytes; the screen is read once readline has drawn them. */
    async type(...bytes: (string | number[])[]): Promise<void> {
      for (const b of bytes) term.emit('data', typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b));
      await new Promise((r) => setImmediate(r));
    },
    close(): void {
      rl.close();
      input.detach();
    },
  };
}

const LEFT = '\x1b[D';
const RIGHT = '\x1b[C';
const HOME = '\x01';
const END = '\x05';

test('an escaped byte is drawn as \\377 at the prompt; the cursor steps over it at once and one Backspace deletes it', async () => {
  const p = prompt(80);
  await p.type('get a', [0xff], 'b');
  assert.deepEqual(p.screen.text(), ['sftp> get a\\377b']);
  assert.equal(p.screen.col, 16);
  assert.equal(p.rl.line, 'get a\uDCFFb');
  await p.type(LEFT);
  assert.equal(p.screen.col, 15);
  await p.type(LEFT);
  assert.equal(p.screen.col, 11, 'one Left crosses the four columns of \\377');
  await p.type(RIGHT);
  assert.equal(p.screen.col, 15);
  // Backspace after the byte: it goes whole, and what follows is redrawn in place.
  await p.type('\x7f');
  assert.deepEqual(p.screen.text(), ['sftp> get ab']);
  assert.equal(p.screen.col, 11);
  assert.equal(p.rl.line, 'get ab');
  // Typed in the middle of the line: inserted, shown, and the cursor after it.
  await p.type([0xfe]);
  assert.deepEqual(p.screen.text(), ['sftp> get a\\376b']);
  assert.equal(p.screen.col, 15);
  // Delete (Ctrl-D) under the cursor, on the byte: gone whole.
  await p.type(LEFT, '\x04');
  assert.deepEqual(p.screen.text(), ['sftp> get ab']);
  // Home and End, then a second byte and a UTF-8 character after it.
  await p.type(HOME, 'x', END, [0xe9], [0xc3, 0xa9]);
  assert.deepEqual(p.screen.text(), ['sftp> xget ab\\351é']);
  assert.equal(p.screen.col, 18);
  await p.type('\r');
  assert.deepEqual(p.lines, ['xget ab\uDCE9é']);
  p.close();
});

test('a line with escaped bytes wraps where its drawn width says, and editing it redraws every row right', async () => {
  const p = prompt(12);
  // `sftp> ` (6) + `ab` (2) + `\377` (4) = 12: the next character starts row 2.
  await p.type('ab', [0xff], 'cd', [0xfe], 'e');
  assert.deepEqual(p.screen.text(), ['sftp> ab\\377', 'cd\\376e']);
  assert.deepEqual([p.screen.row, p.screen.col], [1, 7]);
  // Back to just after the first byte, then delete it: the rest moves up a row's worth.
  await p.type(LEFT, LEFT, LEFT, LEFT, '\x7f');
  assert.deepEqual(p.screen.text(), ['sftp> abcd\\3', '76e']);
  assert.deepEqual([p.screen.row, p.screen.col], [0, 8]);
  assert.equal(p.rl.line, 'abcd\uDCFEe');
  p.close();
});

test('Tab completion of a name holding an escaped byte inserts it whole and draws it as \\377', async () => {
  const p = prompt(80, (line) => [['get qq\uDCFFz'], line]);
  await p.type('get q', '\t');
  assert.equal(p.rl.line, 'get qq\uDCFFz');
  assert.deepEqual(p.screen.text(), ['sftp> get qq\\377z']);
  assert.equal(p.screen.col, 17);
  await p.type('\x7f', '\x7f');
  assert.deepEqual(p.screen.text(), ['sftp> get qq']);
  p.close();
});

test("the second Tab's candidate list: columns measured on the drawn names (\\377 is four columns), the line left as typed", async () => {
  // Two bytes in the first name: readline alone measured it as 3 columns, drawn it is 9.
  const candidates = ['a\uDCFF\uDCFE', 'ab', 'abc', 'a\uDCFD'];
  const p = prompt(80, (line) => [candidates, line.slice(4)]);
  await p.type('get a', '\t', '\t');
  // The widest drawn name (9) + 2: every column starts 11 further on.
  assert.deepEqual(p.screen.text().slice(0, 3), ['sftp> get a', 'a\\377\\376  ab         abc        a\\375', '']);
  assert.equal(p.rl.line, 'get a');
  assert.deepEqual(p.screen.text().at(-1), 'sftp> get a');
  p.close();
  // On 30 columns two fit on a row.
  const q = prompt(30, (line) => [candidates, line.slice(4)]);
  await q.type('get a', '\t', '\t');
  assert.deepEqual(q.screen.text().slice(1, 4), ['a\\377\\376  ab', 'abc        a\\375', '']);
  q.close();
});

test('candidatesAsShown: only a list readline would show is changed, to the drawn names and their common start', () => {
  // Nothing escaped: as it was.
  const plain: [string[], string] = [['ab', 'ac'], 'a'];
  assert.equal(candidatesAsShown(plain), plain);
  // A common start longer than what was typed is inserted by readline: the line must get the escaped character.
  const inserts: [string[], string] = [['a\uDCFFb', 'a\uDCFFc'], 'a'];
  assert.equal(candidatesAsShown(inserts), inserts);
  const single: [string[], string] = [['a\uDCFFb'], 'a'];
  assert.equal(candidatesAsShown(single), single);
  // A list: drawn names, and their common start as the completed text (so readline still inserts nothing).
  assert.deepEqual(candidatesAsShown([['x\uDCFF1', 'x\uDCFE2', ''], 'x']), [['x\\3771', 'x\\3762', ''], 'x\\37']);
  assert.deepEqual(candidatesAsShown([['a\uDCFF', 'b'], '']), [['a\\377', 'b'], '']);
});
