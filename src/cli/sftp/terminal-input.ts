// The terminal's input for the sftp> prompt, decoded so that bytes that are
// not UTF-8 survive. node:readline decodes what it reads as UTF-8 and puts
// U+FFFD in place of a stray byte, so a name like `x\377` could not be
// typed or pasted. Here the bytes are decoded as names are (pathFromBytes:
// each byte outside a well-formed sequence as U+DC00 + byte, which the
// commands turn back into the byte), and readline gets strings, which its
// key decoder passes through as they are. A sequence cut at the end of a
// read waits for the next one (a terminal may split a character).
//
// (OpenSSH's sftp, through libedit, drops such a byte at its prompt; a
// batch file or piped input keeps it, and so does nacre-sftp's prompt.)
//
// While the line is edited such a byte is shown as sftp shows names, a
// backslash and three octal digits (`x\377`): showEscapedBytes() has
// readline write, and measure, the shown text, while its line keeps the one
// escaped character (so one keystroke deletes the byte, and the cursor steps
// over it at once).
import { EventEmitter } from 'node:events';
import type { Interface } from 'node:readline';
import { pathFromBytes, showPath } from '../../sftp-entry.js';

/** Bytes a well-formed sequence starting with `lead` has, or 0 when `lead` starts none. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** A streaming pathFromBytes: chunks in, text out, a character split across chunks kept whole. */
export class ByteEscapingDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  write(chunk: Uint8Array): string {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const keep = incompleteTail(bytes);
    // A copy (Buffer's slice would share the chunk's memory).
    this.pending = Uint8Array.from(bytes.subarray(bytes.length - keep));
    return pathFromBytes(bytes.subarray(0, bytes.length - keep));
  }

  /** What is still held (an unfinished sequence), each byte escaped. */
  end(): string {
    const rest = this.pending;
    this.pending = new Uint8Array(0);
    return pathFromBytes(rest);
  }
}

/** How many bytes at the end of `b` begin a sequence that more bytes could still complete. */
function incompleteTail(b: Uint8Array): number {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const lead = b[b.length - k]!;
    if (lead >= 0x80 && lead <= 0xbf) continue;
    const need = sequenceLength(lead);
    return need > k ? k : 0;
  }
  return 0;
}

/** What readline uses of its input stream with `terminal: true`. */
export interface RawTerminal extends NodeJS.EventEmitter {
  isRaw?: boolean;
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * `source` (the terminal) as readline's input, its data decoded by
 * ByteEscapingDecoder. Pausing, resuming and raw mode go to the terminal
 * itself, so a `!` command that is given the terminal reads it alone.
 */
export class EscapedTerminalInput extends EventEmitter {
  private readonly decoder = new ByteEscapingDecoder();
  /** Set by the session: whether readline's cursor is at the end of its line. */
  cursorAtEnd: () => boolean = () => false;
  private readonly onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (!text) return;
    // Node 20's readline inserts every character of a longer chunk but the
    // last at the end of the line, wherever the cursor is (its paste
    // shortcut): a path pasted into the middle of a command came out
    // scrambled and ran so. Such a chunk goes one character at a time (each
    // redraws the line, so a long one is slow, but it lands where the cursor
    // is). Plain text and line ends at the end of the line go whole, as fast
    // as readline takes them; Tab and key sequences always one by one.
    if (text.length > 1 && this.cursorAtEnd() && !/[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/.test(text)) {
      this.emit('data', text);
      return;
    }
    for (const ch of text) this.emit('data', ch);
  };
  private readonly onEnd = (): void => {
    const rest = this.decoder.end();
    if (rest) this.emit('data', rest);
    this.emit('end');
  };
  private readonly onError = (err: unknown): void => void this.emit('error', err);

  constructor(private readonly source: RawTerminal) {
    super();
    source.on('data', this.onData);
    source.on('end', this.onEnd);
    source.on('error', this.onError);
  }

  get isTTY(): boolean {
    return this.source.isTTY === true;
  }

  get isRaw(): boolean {
    return this.source.isRaw === true;
  }

  setRawMode(mode: boolean): this {
    this.source.setRawMode?.(mode);
    return this;
  }

  pause(): this {
    this.source.pause();
    return this;
  }

  resume(): this {
    this.source.resume();
    return this;
  }

  /** Stops listening to the terminal (which is left paused). */
  detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.pause();
  }
}

/** The two overridable methods readline's Interface still calls for what it writes and how many columns text takes, and its completer. */
interface ReadlineOutputHooks {
  _writeToOutput?: (text: string) => void;
  _getDisplayPos?: (text: string) => { cols: number; rows: number };
  completer?: (line: string, callback: (err: Error | null, result?: [string[], string]) => void) => void;
}

/** The longest start all of `strings` share, in code units (readline's commonPrefix). */
function commonPrefix(strings: readonly string[]): string {
  if (strings.length === 0) return '';
  let prefix = strings[0]!;
  for (const s of strings) {
    let i = 0;
    while (i < prefix.length && i < s.length && prefix.charCodeAt(i) === s.charCodeAt(i)) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

/**
 * A completer's result as readline should get it for its candidate list.
 * When readline would change nothing in the line (the candidates share no
 * more than what was typed), a second Tab lists them in columns whose width
 * it measures on the candidates themselves, where an escaped byte is one
 * column; drawn as `\377` it takes four, and every column after such a name
 * came out three short per byte. So in that case the candidates are given
 * in their shown form, with their shown common start as the text they
 * complete: readline then still changes nothing in the line, and lists and
 * measures what is drawn. A result that inserts or replaces text is left as
 * it is (the line must get the escaped characters).
 */
export function candidatesAsShown(result: [string[], string]): [string[], string] {
  const [candidates, completeOn] = result;
  if (candidates.every((c) => showPath(c) === c)) return result;
  // readline inserts or replaces unless the candidates' common start is already all typed.
  if (!completeOn.startsWith(commonPrefix(candidates.filter((c) => c !== '')))) return result;
  const shown = candidates.map(showPath);
  return [shown, commonPrefix(shown.filter((c) => c !== ''))];
}

/**
 * Makes `rl` show each escaped byte of its line (and of what it writes:
 * the prompt, completions, the candidate list) as `\ooo`. readline draws the line through
 * `_writeToOutput` and places the cursor, wraps and erases by the columns
 * `_getDisplayPos` counts; both are given the shown text, so the four
 * columns of `\377` are counted as four. False (nothing changed, the
 * terminal shows U+FFFD as before) when this Node's readline has no such
 * methods.
 */
export function showEscapedBytes(rl: Interface): boolean {
  const hooks = rl as unknown as ReadlineOutputHooks;
  const write = hooks._writeToOutput;
  const measure = hooks._getDisplayPos;
  if (typeof write !== 'function' || typeof measure !== 'function') return false;
  hooks._writeToOutput = function (this: unknown, text: string): void {
    write.call(this, showPath(text));
  };
  hooks._getDisplayPos = function (this: unknown, text: string): { cols: number; rows: number } {
    return measure.call(this, showPath(text));
  };
  // The second Tab's list of candidates, measured as drawn (candidatesAsShown).
  const complete = hooks.completer;
  if (typeof complete === 'function') {
    hooks.completer = (line, callback) => complete.call(rl, line, (err, result) => callback(err, err || !result ? result : candidatesAsShown(result)));
  }
  return true;
}
