// sftp's `ls` (do_ls_dir and do_globbed_ls in sftp.c): a directory's
// entries or a glob's matches, sorted, in columns, one per line, or long
// (the server's longname, or sftp's own line with names from
// users-groups-by-id@openssh.com), named relative to the working directory
// when the path given was relative.
import type { LsFlags } from './command-line.js';
import type { CommandContext } from './context.js';
import { columnLayout, lsLongLine, sortEntries, type LsAttrs } from './ls-format.js';
import { makeAbsolute, pathAppend, pathStrip } from './remote.js';
import { escapeGlob } from './command-line.js';

const S_IFMT = 0o170000;
const isDir = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o040000;

/** The names users-groups-by-id@openssh.com gives for these ids (empty maps when not offered). */
async function ownerNames(ctx: CommandContext, attrs: readonly LsAttrs[]): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const uids = [...new Set(attrs.map((a) => a.uid).filter((u): u is number => u !== undefined))];
  const gids = [...new Set(attrs.map((a) => a.gid).filter((g): g is number => g !== undefined))];
  if (!ctx.deps.remote.extensions.has('users-groups-by-id@openssh.com') || (uids.length === 0 && gids.length === 0)) return { users, groups };
  try {
    const names = await ctx.deps.remote.namesById(uids, gids);
    uids.forEach((u, i) => names.users[i] && users.set(u, names.users[i]!));
    gids.forEach((g, i) => names.groups[i] && groups.set(g, names.groups[i]!));
  } catch {
    // numbers are shown instead
  }
  return { users, groups };
}

export async function list(ctx: CommandContext, path1: string | undefined, ls: LsFlags): Promise<boolean> {
  if (path1 === undefined) {
    await listDirectory(ctx, ctx.pwd, ctx.pwd, ls);
    return true;
  }
  const strip = path1.startsWith('/') ? undefined : ctx.pwd;
  const abs = makeAbsolute(path1, escapeGlob(ctx.pwd));
  const g = await ctx.remoteGlob(abs, { mark: true, nocheck: true, nosort: true, brace: true });
  if (g === 'too-many') {
    ctx.error(`Can't ls: Too many matches for "${abs}"`);
    return false;
  }
  if (g.matched === 0) {
    ctx.error(`Can't ls: "${abs}" not found`);
    return false;
  }
  if (ctx.interrupted) return true;
  const only = g.matches[0]!;
  // A single directory (not a link to one: the glob's lstat decides, as sftp's) lists its contents.
  if (g.matches.length === 1 && isDir(only.attrs)) return listDirectory(ctx, only.path, strip, ls);
  const entries = g.matches.map((m) => ({ name: m.path, attrs: m.attrs ?? {} }));
  sortEntries(entries, ls.sort, ls.reverse);
  if (ls.view === 'long') {
    const names = ls.numeric ? { users: new Map<number, string>(), groups: new Map<number, string>() } : await ownerNames(ctx, entries.map((e) => e.attrs));
    const now = ctx.deps.nowSeconds();
    let text = '';
    for (const e of entries) {
      text += lsLongLine(pathStrip(e.name, strip), e.attrs, now, lsOwner(e.attrs, names, ls.si)) + '\n';
    }
    ctx.out(text);
  } else if (ls.view === 'short') {
    ctx.out(entries.map((e) => pathStrip(e.name, strip) + '\n').join(''));
  } else {
    // The width comes from the full paths, as sftp measures them.
    const longest = Math.max(0, ...entries.map((e) => e.name.length));
    const shown = entries.map((e) => pathStrip(e.name, strip));
    ctx.out(columnLayout(shown, ctx.deps.columns(), longest - Math.max(0, ...shown.map((s) => s.length))));
  }
  return true;
}

function lsOwner(a: LsAttrs, names: { users: Map<number, string>; groups: Map<number, string> }, si: boolean): { si: boolean; user?: string; group?: string } {
  const user = a.uid !== undefined ? names.users.get(a.uid) : undefined;
  const group = a.gid !== undefined ? names.groups.get(a.gid) : undefined;
  return { si, ...(user !== undefined ? { user } : {}), ...(group !== undefined ? { group } : {}) };
}

/** do_ls_dir(): one directory's entries, named relative to `strip`. */
async function listDirectory(ctx: CommandContext, path: string, strip: string | undefined, ls: LsFlags): Promise<boolean> {
  let all;
  try {
    all = await ctx.readDirectory(path);
  } catch (err) {
    ctx.error(`remote readdir("${path}"): ${ctx.reason(err)}`);
    return false;
  }
  const entries = all.filter((e) => ls.all || !e.filename.startsWith('.')).map((e) => ({ name: e.filename, attrs: e.attrs, longname: e.longname }));
  sortEntries(entries, ls.sort, ls.reverse);
  const shown = (e: { name: string }): string => pathStrip(pathAppend(path, e.name), strip);
  if (ls.view === 'long') {
    const own = ls.numeric || ls.si || ctx.deps.remote.extensions.has('users-groups-by-id@openssh.com');
    const names = own && !ls.numeric ? await ownerNames(ctx, entries.map((e) => e.attrs)) : { users: new Map<number, string>(), groups: new Map<number, string>() };
    const now = ctx.deps.nowSeconds();
    let text = '';
    for (const e of entries) {
      if (ctx.interrupted) break;
      text += (own ? lsLongLine(shown(e), e.attrs, now, lsOwner(e.attrs, names, ls.si)) : e.longname) + '\n';
    }
    ctx.out(text);
  } else if (ls.view === 'short') {
    ctx.out(entries.map((e) => shown(e) + '\n').join(''));
  } else {
    ctx.out(columnLayout(entries.map(shown), ctx.deps.columns(), 0));
  }
  return true;
}
