// node:fs results in the FileSystem interface's shapes, and node:fs errors
// restated with the client's path: a message from the kernel would otherwise
// name `/proc/self/fd/17/x` or the host path of a confined root.
import type { Stats, StatsFs } from 'node:fs';
import type { FileStats } from '../../sftp/filesystem.js';
import type { Statvfs } from '../../sftp/extensions.js';
import type { AccountNames, Tables } from './node-fs-users.js';

export async function toFileStats(s: Stats, names: AccountNames): Promise<FileStats> {
  return toFileStatsWith(s, await names.load());
}

/** toFileStats with the account tables at hand (a listing loads them once for all its entries). */
export function toFileStatsWith(s: Stats, tables: Tables): FileStats {
  const out: FileStats = {
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    mode: s.mode,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
    nlink: s.nlink,
  };
  const owner = tables.users.get(s.uid);
  const group = tables.groups.get(s.gid);
  if (owner !== undefined) out.owner = owner;
  if (group !== undefined) out.group = group;
  return out;
}

const NAME_MAX = 255;

export function toStatvfs(s: StatsFs, readOnly = false): Statvfs {
  const n = (v: number) => (Number.isSafeInteger(v) && v >= 0 ? v : 0);
  return {
    bsize: n(s.bsize),
    frsize: n(s.bsize),
    blocks: n(s.blocks),
    bfree: n(s.bfree),
    bavail: n(s.bavail),
    files: n(s.files),
    ffree: n(s.ffree),
    favail: n(s.ffree),
    // node:fs gives neither the file system id nor its mount flags.
    fsid: 0,
    flag: readOnly ? 1 : 0,
    namemax: NAME_MAX,
  };
}

export type FsError = Error & { code: string; syscall: string; path: string };

/** An Error like node:fs's (`ENOENT: no such file or directory, open 'x'`) naming the client's path. */
export function fsError(code: string, description: string, syscall: string, path: string, dest?: string): FsError {
  const err = new Error(`${code}: ${description}, ${syscall} '${path}'${dest === undefined ? '' : ` -> '${dest}'`}`) as FsError;
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

/** node:fs's error restated for the client's path; anything without an errno code passes unchanged. */
export function restate(err: unknown, syscall: string, path: string, dest?: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !(err instanceof Error)) return err;
  const description = /^[A-Z0-9_]+: ([^,]*)/.exec(err.message)?.[1] ?? code.toLowerCase();
  const out = fsError(code, description, syscall, path, dest);
  out.cause = err;
  return out;
}

/** Runs `op`, rejecting with its error restated for the client's path. */
export async function clientPathErrors<T>(syscall: string, path: string, op: () => Promise<T>, dest?: string): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw restate(err, syscall, path, dest);
  }
}
