// Handing a shell words that hold bytes that are not UTF-8. Node passes a
// child its arguments as UTF-8 strings only, so a name carried with escaped
// bytes (pathFromBytes's U+DC80..U+DCFF) would reach it with U+FFFD in their
// place. The shell can be given such text spelled in ASCII instead: every
// byte as an octal escape of printf's %b, eval'ed once printf has turned it
// back into the bytes.
import { hasEscapedBytes, pathToBytes } from '../../sftp-entry.js';

/** The `sh -c` text that runs `command`: `command` itself, or its bytes through printf %b and eval when it holds escaped ones. */
export function shellCommandText(command: string): string {
  if (!hasEscapedBytes(command)) return command;
  const octal = [...pathToBytes(command)].map((c) => '\\0' + c.toString(8).padStart(3, '0')).join('');
  return `eval "$(printf '%b' '${octal}')"`;
}

/** `word` in single quotes for sh (a quote inside as `'\''`). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
