// Handing a shell words that hold bytes that are not UTF-8. Node passes a
// child its arguments as UTF-8 strings only, so a name carried with escaped
// bytes (pathFromBytes's U+DC80..U+DCFF) would reach it with U+FFFD in their
// place. The shell can be given such text spelled in printable ASCII
// instead: the other bytes (and the quote and the backslash) as octal
// escapes of printf's %b, eval'ed once printf has turned them back into the
// bytes. Printable ASCII goes as it is: one argument may be at most 128 KiB
// (Linux's MAX_ARG_STRLEN), and five characters for every byte made a
// command of 26 KiB too long to run (E2BIG).
import { hasEscapedBytes, pathToBytes } from '../../mux-entry.js';

/** The `sh -c` text that runs `command`: `command` itself, or its bytes through printf %b and eval when it holds escaped ones. */
export function shellCommandText(command: string): string {
  if (!hasEscapedBytes(command)) return command;
  // `$(...)` drops trailing newlines: the `_` after them keeps them, and goes.
  return `nacre_command="$(printf '%b_' '${printfSpelling(command)}')"; eval "\${nacre_command%_}"`;
}

/**
 * What runs `command` as `shell -c command` does, for any shell (csh's
 * syntax has no `$(...)`): when the command holds escaped bytes, /bin/sh
 * turns their spelling back into the bytes and hands them to the shell as
 * its `-c` argument. (nacred's exec-handler.ts does the same for a client's
 * command; the layers may not share code.)
 */
export function shellProgram(shell: string, command: string): { file: string; args: string[] } {
  if (!hasEscapedBytes(command)) return { file: shell, args: ['-c', command] };
  return { file: '/bin/sh', args: ['-c', `nacre_command="$(printf '%b_' '${printfSpelling(command)}')"; exec "$0" -c "\${nacre_command%_}"`, shell] };
}

/** The bytes of `command` for a single-quoted argument of printf's %b, in printable ASCII. */
function printfSpelling(command: string): string {
  if (command.includes('\0')) throw new RangeError('a command cannot hold a NUL byte');
  let spelled = '';
  for (const c of pathToBytes(command)) {
    // Inside single quotes nothing is special to sh; in printf's %b argument only the backslash is.
    spelled += c >= 0x20 && c <= 0x7e && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : '\\0' + c.toString(8).padStart(3, '0');
  }
  return spelled;
}

/** `word` in single quotes for sh (a quote inside as `'\''`). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
