// glob(3) as sftp and scp use it, over any directory lister: the remote
// side lists through SFTP (sftp-glob.c; scp's remote operands, which have no
// remote shell to expand them), the local side through node:fs. Wildcards
// `*`, `?` and `[...]` (`!` or `^` negates, ranges) in any path component,
// one character being one code point; a backslash makes the next character
// literal (the command-line parser escapes what the user quoted); a name
// starting with `.` is matched only by a pattern starting with a literal
// `.`; GLOB_MARK appends `/` to directories; GLOB_NOCHECK gives the pattern
// back when nothing matches. Matches come back sorted by name (byte order),
// with the attributes the listing gave (lstat's), so `ls` needs no second
// round trip.
import type { LsAttrs } from '../sftp/ls-format.js';
import { byteCompare } from '../sftp/ls-format.js';

export interface GlobFs {
  /** A directory's entries (without `.` and `..` is fine), or null when it cannot be read. */
  readdir(dir: string): Promise<{ name: string; attrs: LsAttrs }[] | null>;
  /** lstat; null when the path does not exist. */
  lstat(path: string): Promise<LsAttrs | null>;
  /** stat (follows links); null when the path does not exist. */
  stat(path: string): Promise<LsAttrs | null>;
}

export interface GlobMatch {
  /** The path, with a `/` appended to directories under `mark`. */
  readonly path: string;
  /** lstat's attributes (missing for the pattern handed back by `nocheck`). */
  readonly attrs?: LsAttrs;
  /** Whether it names a directory (following a symbolic link). */
  readonly isDir: boolean;
}

export interface GlobResult {
  readonly matches: GlobMatch[];
  /** How many real matches (gl_matchc): 0 when `nocheck` handed back the pattern. */
  readonly matched: number;
}

export interface GlobOptions {
  mark?: boolean;
  /** GLOB_BRACE: `{a,b}` alternatives, each globbed (sftp's ls). */
  brace?: boolean;
  nocheck?: boolean;
  /** Keep the listing's order instead of sorting (GLOB_NOSORT). */
  nosort?: boolean;
  /** Most matches kept (sftp caps remote globs to keep memory bounded). */
  limit?: number;
}

export class GlobLimitError extends Error {
  constructor() {
    super('Too many matches');
    this.name = 'GlobLimitError';
  }
}

const S_IFMT = 0o170000;
const isDirMode = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o040000;
const isLinkMode = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o120000;

/** Whether a pattern (or component) has an unescaped wildcard. */
export function hasMagic(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** A pattern with its escapes removed (what a component without wildcards names). */
export function unescapePattern(pattern: string): string {
  return pattern.replace(/\\(.)/gs, '$1').replace(/\\$/, '\\');
}

/** fnmatch of one component against one name (no `/` in either), code point by code point. */
export function matchComponent(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.') && !pattern.startsWith('\\.')) return false;
  return matchFrom(Array.from(pattern), 0, Array.from(name), 0);
}

function matchFrom(p: readonly string[], pi: number, s: readonly string[], si: number): boolean {
  // Between stars every element matches exactly one character, so only the
  // last `*` ever needs retrying, one character further each time: at most
  // |pattern| × |name| steps. (Retrying every star, as a recursion does, is
  // exponential in the stars: a server's long names could hang the tool.)
  let starP = -1;
  let starS = 0;
  for (;;) {
    if (pi < p.length && p[pi] === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      starP = pi;
      starS = si;
      continue;
    }
    if (pi === p.length && si === s.length) return true;
    const next = pi < p.length && si < s.length ? stepOne(p, pi, s[si]!) : -1;
    if (next >= 0) {
      pi = next;
      si++;
      continue;
    }
    if (starP < 0 || starS >= s.length) return false;
    pi = starP;
    si = ++starS;
  }
}

/** Where the pattern goes on when its element at `pi` matches `ch`; -1 when it does not. */
function stepOne(p: readonly string[], pi: number, ch: string): number {
  const c = p[pi]!;
  if (c === '?') return pi + 1;
  if (c === '[') {
    const r = matchClass(p, pi, ch);
    // No closing bracket: `[` is literal.
    if (r === null) return ch === '[' ? pi + 1 : -1;
    return r.matched ? r.next : -1;
  }
  if (c === '\\' && pi + 1 < p.length) return p[pi + 1] === ch ? pi + 2 : -1;
  return c === ch ? pi + 1 : -1;
}

/** A bracket expression at `start` against `ch`; a range written backwards matches nothing (as OpenBSD's fnmatch). Null when it is not closed. */
function matchClass(p: readonly string[], start: number, ch: string): { matched: boolean; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  const code = ch.codePointAt(0)!;
  while (i < p.length && (p[i] !== ']' || first)) {
    first = false;
    let lo = p[i]!;
    if (lo === '\\' && i + 1 < p.length) lo = p[++i]!;
    i++;
    let hi = lo;
    if (p[i] === '-' && i + 1 < p.length && p[i + 1] !== ']') {
      hi = p[i + 1]!;
      if (hi === '\\' && i + 2 < p.length) {
        hi = p[i + 2]!;
        i++;
      }
      i += 2;
    }
    if (lo.codePointAt(0)! <= code && code <= hi.codePointAt(0)!) matched = true;
  }
  if (i >= p.length) return null;
  return { matched: matched !== negate, next: i + 1 };
}

function join(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * GLOB_BRACE: `a{b,c}d` becomes `abd`, `acd` (nested braces too, left to
 * right); `{}` and an unclosed `{` stay literal, as do escaped braces and
 * commas. At most `limit` patterns come out.
 */
export function expandBraces(pattern: string, limit = 1024): string[] {
  // The first unescaped `{` with a matching `}`.
  let open = -1;
  let depth = 0;
  let close = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        if (pattern[i + 1] === '}') {
          i++;
          continue;
        }
        open = i;
      }
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    }
  }
  if (open < 0 || close < 0) return [pattern];
  const inner = pattern.slice(open + 1, close);
  const alternatives: string[] = [];
  let start = 0;
  depth = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '\\') {
      i++;
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth--;
    } else if (c === ',' && depth === 0) {
      alternatives.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  alternatives.push(inner.slice(start));
  const out: string[] = [];
  for (const alt of alternatives) {
    for (const p of expandBraces(pattern.slice(0, open) + alt + pattern.slice(close + 1), limit)) {
      if (out.length >= limit) return out;
      out.push(p);
    }
  }
  return out;
}

/** Expands `pattern` over `fs`. GlobLimitError past `limit` matches. */
export async function glob(pattern: string, fs: GlobFs, options: GlobOptions = {}): Promise<GlobResult> {
  if (options.brace) {
    const patterns = expandBraces(pattern);
    if (patterns.length > 1 || patterns[0] !== pattern) {
      const matches: GlobMatch[] = [];
      for (const p of patterns) {
        const r = await glob(p, fs, { ...options, brace: false, nocheck: false, ...(options.limit !== undefined ? { limit: options.limit - matches.length } : {}) });
        matches.push(...r.matches);
      }
      if (matches.length === 0 && options.nocheck) return { matches: [{ path: unescapePattern(pattern), isDir: false }], matched: 0 };
      return { matches, matched: matches.length };
    }
  }
  const limit = options.limit ?? Infinity;
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/');
  if (absolute) parts.shift();
  const found: GlobMatch[] = [];

  const finish = async (path: string, listed: LsAttrs | undefined): Promise<void> => {
    const attrs = listed ?? (await fs.lstat(path === '' ? '.' : path));
    if (!attrs) return;
    let isDir = isDirMode(attrs);
    if (!isDir && isLinkMode(attrs)) isDir = isDirMode(await fs.stat(path));
    let shown = path;
    if (options.mark && isDir && !shown.endsWith('/')) shown += '/';
    if (found.length >= limit) throw new GlobLimitError();
    found.push({ path: shown, attrs, isDir });
  };

  const walk = async (dir: string, i: number, listed: LsAttrs | undefined): Promise<void> => {
    if (i >= parts.length) return finish(dir, listed);
    const part = parts[i]!;
    if (part === '' && i === parts.length - 1) {
      // A trailing slash: the path must be a directory.
      const a = await fs.stat(dir);
      if (a && isDirMode(a)) {
        if (found.length >= limit) throw new GlobLimitError();
        found.push({ path: dir.endsWith('/') ? dir : dir + '/', attrs: (await fs.lstat(dir)) ?? a, isDir: true });
      }
      return;
    }
    if (!hasMagic(part)) return walk(join(dir, unescapePattern(part)), i + 1, undefined);
    const entries = await fs.readdir(dir === '' ? '.' : dir);
    if (!entries) return;
    const names = entries.filter((e) => e.name !== '.' && e.name !== '..' || part.startsWith('.')).filter((e) => matchComponent(part, e.name));
    for (const e of names) await walk(join(dir, e.name), i + 1, i === parts.length - 1 ? e.attrs : undefined);
  };

  await walk(absolute ? '/' : '', 0, undefined);
  if (!options.nosort) found.sort((a, b) => byteCompare(a.path, b.path));
  if (found.length === 0 && options.nocheck) return { matches: [{ path: unescapePattern(pattern), isDir: false }], matched: 0 };
  return { matches: found, matched: found.length };
}

/** What scp's remote expansion needs of the server: a directory's names, whether a path is a directory, whether it is there. */
export interface GlobLister {
  list(path: string): Promise<readonly { filename: string }[]>;
  isDirectory(path: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
}

/** The paths a remote pattern matched, or the pattern itself (unquoted) with `matched` 0. */
export interface RemoteGlobResult {
  readonly paths: readonly string[];
  readonly matched: number;
}

/** At most this many matches of a remote pattern (sftp's glob limit), as a guard against a huge tree. */
export const MAX_GLOB_MATCHES = 100_000;

/**
 * scp's remote wildcards (SFTP mode): glob() over `lister` with GLOB_NOCHECK,
 * names sorted per directory, `.` and `..` never matched, a trailing `/`
 * asking for directories (given without the slash). Lists only where a
 * component has a wildcard; a listing that fails is no match there. Throws
 * GlobLimitError past MAX_GLOB_MATCHES.
 */
export async function expandRemoteGlob(pattern: string, lister: GlobLister): Promise<RemoteGlobResult> {
  if (!hasMagic(pattern)) return { paths: [unescapePattern(pattern)], matched: 0 };
  const exists = async (path: string): Promise<LsAttrs | null> => ((await lister.exists(path).catch(() => false)) ? { mode: 0o100000 } : null);
  const fs: GlobFs = {
    async readdir(dir) {
      let names: readonly { filename: string }[];
      try {
        names = await lister.list(dir);
      } catch {
        return null;
      }
      const kept = names.map((e) => e.filename).filter((n) => n !== '.' && n !== '..').sort();
      // Only a match that is not the last component needs its kind: glob() walks into it (a file lists nothing).
      return kept.map((name) => ({ name, attrs: { mode: 0o100000 } }));
    },
    lstat: exists,
    async stat(path) {
      return (await lister.isDirectory(path).catch(() => false)) ? { mode: 0o040000 } : exists(path);
    },
  };
  const { matches } = await glob(pattern, fs, { nosort: true, limit: MAX_GLOB_MATCHES });
  if (matches.length === 0) return { paths: [unescapePattern(pattern)], matched: 0 };
  const paths = matches.map((m) => (pattern.endsWith('/') && m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path));
  return { paths, matched: paths.length };
}
