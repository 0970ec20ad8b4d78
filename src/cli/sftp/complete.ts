// Tab completion at the sftp> prompt, as sftp.c's complete() decides it:
// the first word completes to command names; later words complete to
// remote or local paths according to the command's table entry (get's
// first argument is remote, its second local; put the other way round),
// skipping flags. A path is completed by globbing what was typed with `*`
// appended; the inserted text is escaped as sftp escapes it (a backslash
// before quotes, spaces, `#`, `*`, `[`, tabs and backslashes, unless inside
// a quote), and a single match that is not a directory gets its closing
// quote and a space. Pure: the globs come in as functions. The result is in
// node:readline's completer shape.
import { COMMANDS, findCommand, splitWords, undoGlobEscape, type Completion } from './command-line.js';
import { pathStrip } from './remote.js';

export interface CompletionSources {
  /** Matches of a remote glob pattern, directories marked with `/` (absolute paths). */
  remoteGlob(pattern: string): Promise<string[]>;
  /** Matches of a local glob pattern, directories marked with `/`. */
  localGlob(pattern: string): Promise<string[]>;
  /** The remote working directory. */
  pwd(): string;
}

/** readline's completer result: the candidates (each replacing `word`) and the text they replace. */
export type CompletionResult = [string[], string];

const ESCAPED = new Set(["'", '"', '\\', '\t', '[', ' ', '#', '*']);

/** Text to insert after what was typed, escaped for the quoting in force. */
export function escapeInsertion(text: string, quote: '' | "'" | '"'): string {
  let out = '';
  for (const c of text) out += ESCAPED.has(c) && (quote === '' || c === quote) ? '\\' + c : c;
  return out;
}

/** The command words that start with `prefix` (case-insensitive), in the table's order. */
export function commandCandidates(prefix: string): string[] {
  const lower = prefix.toLowerCase();
  return COMMANDS.map((c) => c.name).filter((n) => n.startsWith(lower));
}

/** Whether argument `n` (1 or 2, not counting flags) of `command` names remote or local paths. */
export function argumentKind(command: string, n: number): Completion {
  const entry = findCommand(command);
  if (!entry) return 'none';
  return n === 1 ? entry.first : n === 2 ? entry.second : 'none';
}

/** Completes `line` (the text up to the cursor). */
export async function completeLine(line: string, sources: CompletionSources): Promise<CompletionResult> {
  let split;
  try {
    split = splitWords(line, true);
  } catch {
    return [[], ''];
  }
  const { words, lastQuote, terminated, lastStart } = split;
  const between = lastStart === line.length;
  const rawWord = line.slice(lastStart);
  // Which word the cursor is on: the command, or an argument.
  const index = between ? words.length : words.length - 1;
  if (index <= 0) {
    const typed = between ? '' : words[0] ?? '';
    const names = commandCandidates(typed);
    if (names.length === 1) return [[names[0]! + ' '], rawWord];
    return [names, rawWord];
  }
  let arg = 0;
  for (let i = 1; i < index; i++) if (!words[i]!.startsWith('-')) arg++;
  arg++;
  const kind = argumentKind(words[0]!, arg);
  if (kind === 'none') return [[], rawWord];
  const word = between ? '' : words[index]!;
  const typed = undoGlobEscape(word);
  const absolute = typed.startsWith('/');
  const pwd = sources.pwd();
  let matches: string[];
  try {
    if (kind === 'remote') {
      const escapedPwd = pwd.replace(/[[\]?*\\]/g, (c) => '\\' + c);
      const pattern = absolute ? word + '*' : (escapedPwd.endsWith('/') ? escapedPwd : escapedPwd + '/') + word + '*';
      matches = (await sources.remoteGlob(pattern)).map((m) => (absolute ? m : pathStrip(m, pwd)));
    } else {
      matches = await sources.localGlob(word + '*');
    }
  } catch {
    return [[], rawWord];
  }
  // Only what extends what was typed (a glob typed by the user is not extended).
  matches = matches.filter((m) => m.startsWith(typed));
  if (matches.length === 0) return [[], rawWord];
  const quote = lastQuote;
  const candidates = matches.map((m) => rawWord + escapeInsertion(m.slice(typed.length), quote));
  if (candidates.length === 1) {
    let only = candidates[0]!;
    if (!only.endsWith('/')) only += (!terminated && quote ? quote : '') + ' ';
    return [[only], rawWord];
  }
  return [candidates, rawWord];
}
