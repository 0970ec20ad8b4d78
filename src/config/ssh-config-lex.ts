// One ssh_config line as ssh splits it (readconf.c's strdelim + argv_split):
// the keyword ends at white space or a single `=`, the rest is split into
// arguments honouring "double" and 'single' quotes and backslash escapes of
// quotes, backslashes and (outside quotes) spaces; an argument starting with
// `#` ends the line.

export interface ConfigLine {
  /** Lower-cased, as ssh compares keywords. */
  readonly keyword: string;
  readonly args: readonly string[];
  /** The text after the keyword, unsplit (ProxyCommand, RemoteCommand take it as is). */
  readonly rest: string;
}

export type LexResult = ConfigLine | 'empty' | { readonly error: string };

const SPACE = /[ \t\r\n\f]/;

/** Splits `text` into arguments; null when a quote is left open. */
export function splitArguments(text: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < text.length; i++) {
      const ch = text[i]!;
      const next = text[i + 1];
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          arg += next;
          i++;
        } else {
          arg += ch;
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return null;
    out.push(arg);
  }
  return out;
}

/** Splits one line; 'empty' for blank and comment lines. */
export function lexLine(line: string): LexResult {
  let text = line.replace(/[ \t\r\n\f]+$/, '');
  text = text.replace(/^[ \t\r\n]+/, '');
  if (text === '' || text.startsWith('#')) return 'empty';
  let keyword: string;
  let i: number;
  if (text.startsWith('"')) {
    const close = text.indexOf('"', 1);
    if (close < 0) return { error: 'invalid quotes' };
    keyword = text.slice(1, close);
    i = close + 1;
  } else {
    i = 0;
    while (i < text.length && !SPACE.test(text[i]!) && text[i] !== '=' && text[i] !== '"') i++;
    keyword = text.slice(0, i);
  }
  // Skip white space, at most one '=', and white space again.
  while (i < text.length && SPACE.test(text[i]!)) i++;
  if (text[i] === '=') {
    i++;
    while (i < text.length && SPACE.test(text[i]!)) i++;
  }
  const rest = text.slice(i);
  keyword = keyword.toLowerCase();
  if (keyword === '') return 'empty';
  if (rest === '') return { error: `no argument after keyword "${keyword}"` };
  const args = splitArguments(rest);
  if (args === null) return { error: 'invalid quotes' };
  return { keyword, args, rest };
}

/** Quotes `arg` so that splitArguments gives it back (for lines made from flags). */
export function quoteArgument(arg: string): string {
  if (arg !== '' && !/[\s"'\\#]/.test(arg)) return arg;
  return '"' + arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}
