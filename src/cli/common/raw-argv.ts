// The command line's arguments as the bytes the user typed. Node decodes
// argv as UTF-8 and puts U+FFFD in place of bytes that are not, so
// `nacre-scp $'\xff' host:` would ask for a file named "\uFFFD". On Linux
// the kernel keeps the bytes in /proc/self/cmdline (NUL-terminated words);
// the tool's arguments are its last words. Each is taken only when its
// lossy decoding is exactly the string Node gave, and then carried as
// pathFromBytes carries a name (bytes that are not UTF-8 as lone surrogates
// U+DC80..U+DCFF, which fsPath and the SFTP client turn back into the
// bytes). When anything disagrees (another system, a rewritten process
// title, a cut-off cmdline), process.argv is used as it is.
import { readFileSync } from 'node:fs';
import { pathFromBytes } from '../../mux-entry.js';

const lossy = new TextDecoder('utf-8');

/**
 * `argv` (the tool's arguments, as Node decoded them) with the raw bytes of
 * `cmdline` (the process's NUL-terminated words) where they agree; `argv`
 * itself otherwise. Pure.
 */
export function matchRawArguments(argv: readonly string[], cmdline: Uint8Array): string[] {
  if (argv.length === 0) return [];
  // Nothing to recover when Node's decoding lost nothing.
  if (!argv.some((a) => a.includes('\uFFFD'))) return [...argv];
  const words: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < cmdline.length; i++) {
    if (cmdline[i] !== 0) continue;
    words.push(cmdline.subarray(start, i));
    start = i + 1;
  }
  // A last word without its NUL was cut off: it cannot be trusted.
  if (start !== cmdline.length) return [...argv];
  if (words.length < argv.length) return [...argv];
  const tail = words.slice(words.length - argv.length);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const raw = tail[i]!;
    if (lossy.decode(raw) !== argv[i]) return [...argv];
    out.push(pathFromBytes(raw));
  }
  return out;
}

/** The process's arguments after the script, as bytes where Linux gives them (process.argv elsewhere). */
export function rawArguments(argv: readonly string[] = process.argv.slice(2), readCmdline: () => Uint8Array = () => readFileSync('/proc/self/cmdline')): string[] {
  if (!argv.some((a) => a.includes('\uFFFD'))) return [...argv];
  let cmdline: Uint8Array;
  try {
    cmdline = readCmdline();
  } catch {
    return [...argv];
  }
  return matchRawArguments(argv, cmdline);
}
