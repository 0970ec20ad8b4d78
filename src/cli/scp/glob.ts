// Remote wildcards, as scp's SFTP mode expands them itself (there is no
// remote shell to do it): `host:'dir/*.txt'` lists the directories the
// pattern needs over SFTP and keeps the names that match, sorted, as glob(3)
// with GLOB_NOCHECK would (a pattern matching nothing is returned as is, and
// the caller reports it missing). `*`, `?` and `[...]` (with `!` or `^` to
// negate and ranges) match within one component, never a leading dot, and
// `\` quotes the next character.

/** What expansion needs of the server: a directory's names, whether a path is a directory, whether it is there at all. */
export interface GlobLister {
  list(path: string): Promise<readonly { filename: string }[]>;
  isDirectory(path: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
}

export interface GlobResult {
  /** The paths matched (sorted per directory), or the pattern itself (unquoted) when nothing matched. */
  readonly paths: readonly string[];
  /** How many paths matched; 0 when `paths` is the pattern returned unchanged. */
  readonly matched: number;
}

/** At most this many matches, as a guard against a huge directory tree (sftp's glob limit). */
export const MAX_GLOB_MATCHES = 100_000;

/** Whether `text` holds an unquoted wildcard. */
export function hasWildcard(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** The text with its `\` quoting removed. */
export function unquote(text: string): string {
  return text.replace(/\\(.)/gs, '$1');
}

/** One component's pattern as a regular expression (an unclosed `[` matches itself). */
export function componentRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i]!);
    } else if (c === '*') {
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const close = bracketEnd(pattern, i);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      re += classRegExp(body, negate);
      i = close;
    } else {
      re += escapeRe(c);
    }
  }
  // A leading dot must be matched by a dot, not a wildcard.
  const leadingDotGuard = pattern.startsWith('.') || pattern.startsWith('\\.') ? '' : '(?!\\.)';
  return new RegExp(`^${leadingDotGuard}${re}$`, 'su');
}

/**
 * A bracket expression's members (`a`, `a-z`, `\\]`) as a regular expression
 * class. A range written backwards matches nothing (as OpenBSD's fnmatch),
 * so an empty set never matches and its negation matches any character.
 */
function classRegExp(body: string, negate: boolean): string {
  const chars = Array.from(body);
  let cls = '';
  for (let j = 0; j < chars.length; j++) {
    let lo = chars[j]!;
    if (lo === '\\' && j + 1 < chars.length) lo = chars[++j]!;
    if (chars[j + 1] === '-' && j + 2 < chars.length) {
      let hi = chars[j + 2]!;
      j += 2;
      if (hi === '\\' && j + 1 < chars.length) hi = chars[++j]!;
      if (lo.codePointAt(0)! <= hi.codePointAt(0)!) cls += `${escapeClass(lo)}-${escapeClass(hi)}`;
      continue;
    }
    cls += escapeClass(lo);
  }
  if (cls === '') return negate ? '[\\s\\S]' : '(?!)';
  return negate ? `[^${cls}]` : `[${cls}]`;
}

/** The index of the `]` closing a bracket expression opened at `open` (a `]` first in the set is a member), or -1. */
function bracketEnd(pattern: string, open: number): number {
  let j = open + 1;
  if (pattern[j] === '!' || pattern[j] === '^') j++;
  if (pattern[j] === ']') j++;
  for (; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++;
    else if (pattern[j] === ']') return j;
  }
  return -1;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}

/**
 * Expands `pattern` (a remote path) component by component. Directories are
 * listed only where a component has a wildcard; a listing that fails counts
 * as no match there.
 */
export async function expandRemoteGlob(pattern: string, lister: GlobLister): Promise<GlobResult> {
  if (!hasWildcard(pattern)) return { paths: [unquote(pattern)], matched: 0 };
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p) => p !== '');
  // A trailing slash asks for directories only, as in a shell.
  const onlyDirectories = pattern.endsWith('/');
  let bases: string[] = [absolute ? '/' : ''];
  for (let k = 0; k < parts.length && bases.length > 0; k++) {
    const part = parts[k]!;
    const last = k === parts.length - 1 && !onlyDirectories;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasWildcard(part)) {
        const path = join(base, unquote(part));
        // A literal component after a wildcard must be there (a directory, unless it is the last).
        const ok = last ? await lister.exists(path).catch(() => false) : await lister.isDirectory(path).catch(() => false);
        if (ok) next.push(path);
        continue;
      }
      let names: readonly { filename: string }[];
      try {
        names = await lister.list(base === '' ? '.' : base);
      } catch {
        continue;
      }
      const re = componentRegExp(part);
      const hits = names.map((e) => e.filename).filter((n) => n !== '.' && n !== '..' && re.test(n)).sort();
      for (const name of hits) {
        const path = join(base, name);
        if (last || (await lister.isDirectory(path).catch(() => false))) next.push(path);
        if (next.length > MAX_GLOB_MATCHES) throw new Error(`${pattern}: too many glob matches`);
      }
    }
    bases = next;
  }
  if (bases.length === 0) return { paths: [unquote(pattern)], matched: 0 };
  return { paths: bases, matched: bases.length };
}

function join(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}
