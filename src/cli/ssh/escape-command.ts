// The `~C` command line: parsing what was typed at the `ssh>` prompt, and
// its line editing. Pure; the forwardings themselves are started and
// cancelled by whoever implements EscapeForwarding (nacre's forwarding
// module), so this file only decides what was asked.

/** -L, -R or -D. */
export type ForwardKind = 'L' | 'R' | 'D';

/**
 * What `~C` and `~#` need of nacre's forwarding module
 * (src/cli/ssh/forwardings.ts, whose `Forwardings` has this shape).
 */
export interface EscapeForwarding {
  /**
   * Carries out a `~C` line (`-L spec`, `-R spec`, `-D spec`, `-KL spec`,
   * `-KR spec`, `-KD spec`) and resolves with what ssh prints for it
   * ("Forwarding port.", "Bad forwarding specification.", ...; lines
   * without their final newline, '' for nothing). Never rejects.
   */
  command(line: string): Promise<string>;
  /** `~#`: one line per active forwarding. */
  list(): readonly string[];
}

export type EscapeCommand =
  | { readonly kind: 'none' }
  | { readonly kind: 'help' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'add'; readonly forward: ForwardKind; readonly spec: string }
  | { readonly kind: 'cancel'; readonly forward: ForwardKind; readonly spec: string }
  | { readonly kind: 'local'; readonly command: string };

const SPACE = /^[ \t\n\v\f\r]*/;

/**
 * Parses a `~C` line as ssh does: leading blanks and one `-` are skipped;
 * empty does nothing; `h`, `H` or `?` is help; `!cmd` a local command when
 * `permitLocalCommand` (PermitLocalCommand yes; else invalid); `K` cancels;
 * then `L`, `R` or `D` and the specification, blanks between allowed.
 */
export function parseEscapeCommand(line: string, permitLocalCommand = false): EscapeCommand {
  let s = line.replace(SPACE, '');
  if (s.startsWith('-')) s = s.slice(1);
  if (s === '') return { kind: 'none' };
  const first = s[0];
  if (first === 'h' || first === 'H' || first === '?') return { kind: 'help' };
  if (first === '!' && permitLocalCommand) return { kind: 'local', command: s.slice(1) };
  let cancel = false;
  if (first === 'K') {
    cancel = true;
    s = s.slice(1);
  }
  const forward = s[0];
  if (forward !== 'L' && forward !== 'R' && forward !== 'D') return { kind: 'invalid' };
  const spec = s.slice(1).replace(SPACE, '').replace(/[\r\n]+$/, '');
  return cancel ? { kind: 'cancel', forward, spec } : { kind: 'add', forward, spec };
}

/** ssh's `~C` help, one string per line. */
export const ESCAPE_COMMAND_HELP: readonly string[] = [
  'Commands:',
  '      -L[bind_address:]port:host:hostport    Request local forward',
  '      -R[bind_address:]port:host:hostport    Request remote forward',
  '      -D[bind_address:]port                  Request dynamic forward',
  '      -KL[bind_address:]port                 Cancel local forward',
  '      -KR[bind_address:]port                 Cancel remote forward',
  '      -KD[bind_address:]port                 Cancel dynamic forward',
];

/** The line ssh adds to the `~C` help under PermitLocalCommand yes. */
export const ESCAPE_LOCAL_COMMAND_HELP = '      !args                                  Execute local command';

/**
 * The line handed to EscapeForwarding.command for an add or cancel, in the
 * one spelling every parser takes (`-KL spec`), whatever blanks and dashes
 * ssh's looser reading let through.
 */
export function forwardingCommandLine(cmd: { readonly kind: 'add' | 'cancel'; readonly forward: ForwardKind; readonly spec: string }): string {
  return `-${cmd.kind === 'cancel' ? 'K' : ''}${cmd.forward} ${cmd.spec}`;
}

/** Longest `~C` line kept (ssh reads it into a 1024-byte buffer). */
export const MAX_COMMAND_LINE = 1024;

export interface CommandLineInput {
  /** Text to write back to the terminal (the echo; the terminal is raw). */
  readonly echo: string;
  /** Set when the line is finished: the text, or null when it was cancelled (Ctrl-C, or Ctrl-D on an empty line). */
  readonly line?: string | null;
  /** Bytes after the end of the line, which belong to the session again. */
  readonly rest: Uint8Array;
}

/**
 * The `~C` prompt's line editing, done by us while the terminal stays raw
 * (so nothing can end the session's input stream, as a Ctrl-D in cooked
 * mode would): printable characters are echoed, Backspace/DEL erases one,
 * Ctrl-U the line, Enter ends it, Ctrl-C cancels it. Pure.
 */
export class CommandLineEditor {
  private chars: string[] = [];

  feed(bytes: Uint8Array): CommandLineInput {
    let echo = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const rest = (): Uint8Array => bytes.subarray(i + 1);
      if (b === 0x0d || b === 0x0a) {
        const line = this.chars.join('');
        this.chars = [];
        return { echo: echo + '\r\n', line, rest: rest() };
      }
      if (b === 0x03 || (b === 0x04 && this.chars.length === 0)) {
        this.chars = [];
        return { echo: echo + '\r\n', line: null, rest: rest() };
      }
      if (b === 0x7f || b === 0x08) {
        if (this.chars.pop() !== undefined) echo += '\b \b';
      } else if (b === 0x15) {
        echo += '\b \b'.repeat(this.chars.length);
        this.chars = [];
      } else if (b >= 0x20 && b < 0x7f && this.chars.length < MAX_COMMAND_LINE) {
        const c = String.fromCharCode(b);
        this.chars.push(c);
        echo += c;
      }
    }
    return { echo, rest: new Uint8Array(0) };
  }
}
