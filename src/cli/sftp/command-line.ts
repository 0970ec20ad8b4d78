// One line of sftp's command language, parsed as OpenSSH's sftp parses it
// (sftp.c makeargv and parse_args): sh-like words with single and double
// quotes and backslashes, `#` comments, and sftp's twist for globs: a glob
// character that was quoted or escaped stays escaped (`\*`) so the glob step
// takes it literally, and the arguments that are never globbed (a get's
// destination, rename's paths ...) have that escaping undone. A leading `-`
// ignores the command's failure and `@` silences its echo in batch mode.
// Pure: the errors are sftp's messages, for the caller to print.

export const MAX_ARGS = 128;
export const MAX_LINE = 8192;

/** A line sftp refuses before running anything; `message` is sftp's error(). */
export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

export interface SplitWords {
  readonly words: string[];
  /** The quote the last word was opened with ('' for none). */
  readonly lastQuote: '' | "'" | '"';
  /** False when a quote was left open (only in sloppy mode). */
  readonly terminated: boolean;
  /** Where the last word starts in the line (the line's length when it ends between words). */
  readonly lastStart: number;
}

const GLOB_SPECIAL = new Set(['?', '[', '*']);

/**
 * makeargv(): splits a line into words. `sloppy` (for tab completion)
 * accepts an unterminated quote instead of failing.
 */
export function splitWords(line: string, sloppy = false): SplitWords {
  if (line.length > MAX_LINE - 1) throw new CommandLineError('string too long');
  type State = 'start' | 'squote' | 'dquote' | 'unquoted';
  const words: string[] = [];
  let state: State = 'start';
  let cur = '';
  let lastQuote: '' | "'" | '"' = '';
  let terminated = true;
  let lastStart = -1;
  const finish = (): void => {
    if (words.length >= MAX_ARGS) throw new CommandLineError('Too many arguments.');
    words.push(cur);
    cur = '';
  };
  for (let i = 0; ; i++) {
    const c = line[i];
    if (c === undefined) {
      if (state === 'squote' || state === 'dquote') {
        if (!sloppy) throw new CommandLineError('Unterminated quoted argument');
        terminated = false;
        state = 'unquoted';
      }
      if (state === 'unquoted') finish();
      break;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\v' || c === '\f') {
      if (state === 'unquoted') {
        finish();
        state = 'start';
      } else if (state !== 'start') {
        cur += c;
      }
    } else if (c === '"' || c === "'") {
      const q: State = c === '"' ? 'dquote' : 'squote';
      if (state === 'start') {
        state = q;
        lastQuote = c;
        lastStart = i;
      } else if (state === 'unquoted') {
        state = q;
      } else if (state === q) {
        state = 'unquoted';
      } else {
        cur += c;
      }
    } else if (c === '\\') {
      const next = line[i + 1];
      if (state === 'squote' || state === 'dquote') {
        const quote = state === 'squote' ? "'" : '"';
        if (next === quote) {
          cur += next;
          i++;
        } else if (next !== undefined && GLOB_SPECIAL.has(next)) {
          // Kept escaped, twice: the glob undoes one level.
          cur += '\\\\\\' + next;
          i++;
        } else if (next === undefined) {
          cur += '\\';
        } else {
          cur += '\\' + next;
          i++;
        }
      } else {
        if (state === 'start') {
          state = 'unquoted';
          lastQuote = '';
          lastStart = i;
        }
        if (next !== undefined && (GLOB_SPECIAL.has(next) || next === '\\')) {
          cur += '\\' + next;
          i++;
        } else {
          i++;
          if (next === undefined) {
            // A line ending in a backslash: sftp treats it as an open quote.
            if (!sloppy) throw new CommandLineError('Unterminated quoted argument');
            terminated = false;
            finish();
            break;
          }
          cur += next;
        }
      }
    } else if (c === '#' && state !== 'squote' && state !== 'dquote') {
      if (state === 'unquoted') finish();
      break;
    } else {
      if (state === 'start') {
        state = 'unquoted';
        lastQuote = '';
        lastStart = i;
      }
      if ((state === 'squote' || state === 'dquote') && GLOB_SPECIAL.has(c)) cur += '\\' + c;
      else cur += c;
    }
  }
  // Ending between words (or on a comment): the next word would start at the end.
  const between = state === 'start' || lastStart < 0;
  return { words, lastQuote: between ? '' : lastQuote, terminated, lastStart: between ? line.length : lastStart };
}

/** undo_glob_escape(): `\?`, `\[`, `\*`, `\\` become the character; other escapes stay. */
export function undoGlobEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[i + 1];
    if (next === undefined) {
      out += '\\';
    } else if (next === '?' || next === '[' || next === '*' || next === '\\') {
      out += next;
      i++;
    } else {
      out += '\\' + next;
      i++;
    }
  }
  return out;
}

/** The escaping a literal path needs before it is globbed (escape_glob). */
export function escapeGlob(s: string): string {
  return s.replace(/[[\]?*\\]/g, (c) => '\\' + c);
}

/** The commands, by name, in sftp's table (with its completion kinds for each argument). */
export type CommandName =
  | 'cd' | 'chgrp' | 'chmod' | 'chown' | 'copy' | 'df' | 'get' | 'help' | 'lcd' | 'lls' | 'lmkdir' | 'ln' | 'lpwd' | 'ls' | 'lumask'
  | 'mkdir' | 'put' | 'pwd' | 'quit' | 'reget' | 'rename' | 'reput' | 'rm' | 'rmdir' | 'symlink' | 'version' | 'progress' | 'shell';

export type Completion = 'none' | 'remote' | 'local';

export interface CommandEntry {
  readonly name: string;
  readonly command: CommandName;
  readonly first: Completion;
  readonly second: Completion;
}

export const COMMANDS: readonly CommandEntry[] = [
  ['bye', 'quit', 'none', 'none'],
  ['cd', 'cd', 'remote', 'none'],
  ['chdir', 'cd', 'remote', 'none'],
  ['chgrp', 'chgrp', 'remote', 'none'],
  ['chmod', 'chmod', 'remote', 'none'],
  ['chown', 'chown', 'remote', 'none'],
  ['copy', 'copy', 'remote', 'local'],
  ['cp', 'copy', 'remote', 'local'],
  ['df', 'df', 'remote', 'none'],
  ['dir', 'ls', 'remote', 'none'],
  ['exit', 'quit', 'none', 'none'],
  ['get', 'get', 'remote', 'local'],
  ['help', 'help', 'none', 'none'],
  ['lcd', 'lcd', 'local', 'none'],
  ['lchdir', 'lcd', 'local', 'none'],
  ['lls', 'lls', 'local', 'none'],
  ['lmkdir', 'lmkdir', 'local', 'none'],
  ['ln', 'ln', 'remote', 'remote'],
  ['lpwd', 'lpwd', 'local', 'none'],
  ['ls', 'ls', 'remote', 'none'],
  ['lumask', 'lumask', 'none', 'none'],
  ['mkdir', 'mkdir', 'remote', 'none'],
  ['mget', 'get', 'remote', 'local'],
  ['mput', 'put', 'local', 'remote'],
  ['progress', 'progress', 'none', 'none'],
  ['put', 'put', 'local', 'remote'],
  ['pwd', 'pwd', 'remote', 'none'],
  ['quit', 'quit', 'none', 'none'],
  ['reget', 'reget', 'remote', 'local'],
  ['rename', 'rename', 'remote', 'remote'],
  ['reput', 'reput', 'local', 'remote'],
  ['rm', 'rm', 'remote', 'none'],
  ['rmdir', 'rmdir', 'remote', 'none'],
  ['symlink', 'symlink', 'remote', 'remote'],
  ['version', 'version', 'none', 'none'],
  ['!', 'shell', 'none', 'none'],
  ['?', 'help', 'none', 'none'],
].map(([name, command, first, second]) => ({ name, command, first, second }) as CommandEntry);

/** ls's flags (sftp.c's LS_* bits, as fields). */
export interface LsFlags {
  /** 'long' with -l, -n or -h?; 'short' with -1; else columns. */
  view: 'columns' | 'long' | 'short';
  numeric: boolean;
  si: boolean;
  /** name (default), time (-t), size (-S), none (-f). */
  sort: 'name' | 'time' | 'size' | 'none';
  reverse: boolean;
  all: boolean;
}

export interface ParsedCommand {
  readonly command: CommandName;
  /** The name as typed in sftp's table ("get", "mget" ...), for messages. */
  readonly name: string;
  /** Paths: path1 may still carry glob escapes where the command globs it. */
  readonly path1?: string;
  readonly path2?: string;
  /** get/put: -a -f -p -r; ln: -s; rename: -l; chmod/chown/chgrp: -h. */
  readonly flags: { a: boolean; f: boolean; p: boolean; r: boolean; s: boolean; l: boolean; h: boolean; i: boolean };
  readonly ls?: LsFlags;
  /** chmod's mode, chown's uid, chgrp's gid, lumask's mask. */
  readonly number?: number;
  /** lls and !: the rest of the line, as typed. */
  readonly rest?: string;
}

export interface ParsedLine {
  /** `-` before the command: its failure does not stop a batch. */
  readonly ignoreErrors: boolean;
  /** `@` before the command: no echo in batch mode. */
  readonly noEcho: boolean;
  /** null for a blank line or a comment. */
  readonly command: ParsedCommand | null;
}

/** getopt over a command's words, sftp's way: opterr off, an unknown flag is `cmd: Invalid flag -x`. */
function commandFlags(name: string, words: readonly string[], letters: string, onFlag: (c: string) => void, lsWording = false): number {
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') return i + 1;
    if (w.length < 2 || w[0] !== '-') break;
    for (const c of w.slice(1)) {
      if (!letters.includes(c) || c === '-') throw new CommandLineError(`${lsWording ? 'ls' : name}: Invalid flag -${c}`);
      onFlag(c);
    }
  }
  return i;
}

function parseLsFlags(words: readonly string[]): { ls: LsFlags; next: number } {
  const ls: LsFlags = { view: 'columns', numeric: false, si: false, sort: 'name', reverse: false, all: false };
  const next = commandFlags('ls', words, '1Safhlnrt', (c) => {
    switch (c) {
      case '1':
        ls.view = 'short';
        ls.numeric = false;
        ls.si = false;
        break;
      case 'S':
        ls.sort = 'size';
        break;
      case 'a':
        ls.all = true;
        break;
      case 'f':
        ls.sort = 'none';
        break;
      case 'h':
        ls.si = true;
        break;
      case 'l':
        ls.view = 'long';
        break;
      case 'n':
        ls.view = 'long';
        ls.numeric = true;
        break;
      case 'r':
        ls.reverse = true;
        break;
      case 't':
        ls.sort = 'time';
        break;
    }
  }, true);
  // -h alone (sftp's LS_SI_UNITS) shows nothing different outside the long view.
  return { ls, next };
}

/** The command table entry whose name is `word` (case-insensitive), or undefined. */
export function findCommand(word: string): CommandEntry | undefined {
  const lower = word.toLowerCase();
  return COMMANDS.find((c) => c.name === lower);
}

/** parse_args(): one line into its prefix flags and command; CommandLineError with sftp's message. */
export function parseCommandLine(input: string): ParsedLine {
  let cp = input.replace(/^[ \t\r\n]+/, '');
  let ignoreErrors = false;
  let noEcho = false;
  let k = 0;
  for (; k < cp.length; k++) {
    if (cp[k] === '-') ignoreErrors = true;
    else if (cp[k] === '@') noEcho = true;
    else break;
  }
  cp = cp.slice(k).replace(/^[ \t\r\n]+/, '');
  const prefix = { ignoreErrors, noEcho };
  if (cp === '' || cp.startsWith('#')) return { ...prefix, command: null };
  const fail = (message: string): never => {
    throw Object.assign(new CommandLineError(message), { ignoreErrors, noEcho });
  };
  let words: string[];
  try {
    words = splitWords(cp).words;
  } catch (err) {
    if (err instanceof CommandLineError) fail(err.message);
    throw err;
  }
  if (cp.startsWith('!')) {
    return { ...prefix, command: { command: 'shell', name: '!', rest: cp.slice(1), flags: noFlags() } };
  }
  const entry = words[0] !== undefined ? findCommand(words[0]) : undefined;
  if (!entry) return fail('Invalid command.');
  const name = entry.name;
  const flags = noFlags();
  const setFlag = (c: string): void => {
    if (c === 'P') c = 'p';
    if (c === 'R') c = 'r';
    (flags as Record<string, boolean>)[c] = true;
  };
  try {
    switch (entry.command) {
      case 'get':
      case 'reget':
      case 'put':
      case 'reput': {
        const i = commandFlags(name, words, 'afPpRr', setFlag);
        if (words.length - i < 1) fail(`You must specify at least one path after a ${name} command.`);
        const path2 = words[i + 1];
        return { ...prefix, command: { command: entry.command, name, flags, path1: words[i]!, ...(path2 !== undefined ? { path2: undoGlobEscape(path2) } : {}) } };
      }
      case 'ln':
      case 'copy':
      case 'rename':
      case 'symlink': {
        const letters = entry.command === 'ln' ? 's' : entry.command === 'rename' ? 'l' : '';
        const i = commandFlags(name, words, letters, setFlag);
        if (words.length - i < 2) fail(`You must specify two paths after a ${name} command.`);
        return { ...prefix, command: { command: entry.command, name, flags, path1: undoGlobEscape(words[i]!), path2: undoGlobEscape(words[i + 1]!) } };
      }
      case 'rm':
      case 'mkdir':
      case 'rmdir':
      case 'lmkdir':
      case 'cd':
      case 'lcd': {
        const mandatory = entry.command !== 'cd' && entry.command !== 'lcd';
        const i = commandFlags(name, words, '', setFlag);
        if (words.length - i < 1) {
          if (!mandatory) return { ...prefix, command: { command: entry.command, name, flags } };
          fail(`You must specify a path after a ${name} command.`);
        }
        const p = words[i]!;
        return { ...prefix, command: { command: entry.command, name, flags, path1: entry.command === 'rm' ? p : undoGlobEscape(p) } };
      }
      case 'df': {
        const i = commandFlags(name, words, 'hi', setFlag);
        const p = words[i];
        return { ...prefix, command: { command: 'df', name, flags, ...(p !== undefined ? { path1: undoGlobEscape(p) } : {}) } };
      }
      case 'ls': {
        const { ls, next } = parseLsFlags(words);
        const p = words[next];
        return { ...prefix, command: { command: 'ls', name, flags, ls, ...(p !== undefined ? { path1: p } : {}) } };
      }
      case 'lls': {
        // The rest of the line after the command word, handed to the local ls.
        const rest = cp.slice(cp.toLowerCase().indexOf(name) + name.length).replace(/^[ \t\r\n]+/, '');
        return { ...prefix, command: { command: 'lls', name, flags, rest } };
      }
      case 'lumask':
      case 'chmod':
      case 'chown':
      case 'chgrp': {
        const base = entry.command === 'lumask' || entry.command === 'chmod' ? 8 : 10;
        const i = commandFlags(name, words, 'h', setFlag);
        const text = words[i];
        const n = text === undefined ? null : parseNumber(text, base);
        if (n === null) fail(`You must supply a numeric argument to the ${name} command.`);
        if (entry.command === 'lumask') return { ...prefix, command: { command: 'lumask', name, flags, number: n! } };
        if (words.length - i < 2) fail(`You must specify a path after a ${name} command.`);
        return { ...prefix, command: { command: entry.command, name, flags, number: n!, path1: words[i + 1]! } };
      }
      default: {
        commandFlags(name, words, '', setFlag);
        return { ...prefix, command: { command: entry.command, name, flags } };
      }
    }
  } catch (err) {
    if (err instanceof CommandLineError && !('ignoreErrors' in err)) fail(err.message);
    throw err;
  }
}

function noFlags(): ParsedCommand['flags'] {
  return { a: false, f: false, p: false, r: false, s: false, l: false, h: false, i: false };
}

/** strtoll in `base` (8 or 10, an optional 0x for 16 as strtoll with base 0 does not apply here), within 0..2^32-1. */
function parseNumber(text: string, base: 8 | 10): number | null {
  const t = text.replace(/^[ \t]+/, '');
  const m = base === 8 ? /^[+]?([0-7]+)$/.exec(t) : /^[+]?(\d+)$/.exec(t);
  if (!m) return null;
  const n = parseInt(m[1]!, base);
  return n <= 0xffffffff ? n : null;
}

/** The prefix flags of a line that failed to parse (for batch mode's decision). */
export function errorPrefix(err: unknown): { ignoreErrors: boolean; noEcho: boolean } {
  const e = err as { ignoreErrors?: boolean; noEcho?: boolean };
  return { ignoreErrors: e.ignoreErrors === true, noEcho: e.noEcho === true };
}
