// The inode tree under MemoryFileSystem: inodes (files, directories,
// symbolic links), path walking with POSIX's rules, permission checks for one
// user, and the byte count against the capacity. Every method acts at once
// (no await), so an operation is atomic to the others. Pure.
import type { FileAttributes } from './attrs.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './attrs.js';
import { STATVFS_FLAG } from './constants.js';
import type { Statvfs } from './extensions.js';
import type { FileStats } from './filesystem.js';
import { pathByteLength } from '../wire/path-bytes.js';

export interface InodeBase {
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  nlink: number;
}
export interface FileInode extends InodeBase {
  kind: 'file';
  data: Uint8Array;
  size: number;
  /** Handles open on it: an unlinked file's bytes are freed at the last close. */
  opens: number;
}
export interface DirInode extends InodeBase {
  kind: 'dir';
  entries: Map<string, Inode>;
}
export interface LinkInode extends InodeBase {
  kind: 'symlink';
  target: string;
}
export type Inode = FileInode | DirInode | LinkInode;

/** A path walked: the directories from the root down to `parent`, and the last component. */
export interface Walked {
  /** Directories from the root to the one holding the last component. */
  dirs: DirInode[];
  /** Their names below the root (one fewer than dirs). */
  names: string[];
  /** The last component; undefined when the path ended in `/`, `.` or `..` (the node is then the top of dirs). */
  name: string | undefined;
  node: Inode | undefined;
}

const MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links encountered',
  ENOSPC: 'no space left on device',
  EINVAL: 'invalid argument',
  EBADF: 'bad file descriptor',
  EBUSY: 'resource busy or locked',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'name too long',
  EOPNOTSUPP: 'operation not supported',
  EIO: 'i/o error',
};

/** An Error shaped like node:fs's: `code`, `syscall`, `path`, and its message form. */
export function fsError(code: string, syscall: string, path?: string, dest?: string): Error & { code: string; syscall: string; path?: string } {
  const where = path === undefined ? '' : ` '${path}'${dest === undefined ? '' : ` -> '${dest}'`}`;
  const err = new Error(`${code}: ${MESSAGES[code] ?? 'error'}, ${syscall}${where}`) as Error & { code: string; syscall: string; path?: string };
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

export const MAX_SYMLINKS = 40;
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/** Whether `s` has more than `max` bytes, as the kernel counts a name (UTF-8, escaped bytes as themselves). */
export function tooLong(s: string, max: number): boolean {
  if (s.length > max) return true;
  return s.length * 3 > max && pathByteLength(s) > max;
}
export const BLOCK = 4096;
export const R = 4;
export const W = 2;
export const X = 1;

export interface MemoryTreeOptions {
  now: () => number;
  uid: number;
  gids: readonly number[];
  capacity: number;
  readOnly: boolean;
  names: { user(uid: number): string | undefined; group(gid: number): string | undefined };
}

export class MemoryTree {
  readonly root: DirInode;
  readonly uid: number;
  readonly gids: readonly number[];
  readonly capacity: number;
  readonly readOnly: boolean;
  private readonly now: () => number;
  private readonly names: MemoryTreeOptions['names'];
  /** Where relative paths start. */
  cwd = '/';
  /** Bytes of file data held. */
  usedBytes = 0;
  private inodes = 0;

  constructor(options: MemoryTreeOptions) {
    this.now = options.now;
    this.uid = options.uid;
    this.gids = options.gids;
    this.capacity = options.capacity;
    this.readOnly = options.readOnly;
    this.names = options.names;
    this.root = this.newDir(0o755, 0, 0);
    this.root.nlink = 2; // its `..` is itself
  }


  /**
   * Walks a path from the root (absolute) or the working directory, checking
   * search permission on every directory passed, following symbolic links
   * on the way (and at the end when `followLast`), at most MAX_SYMLINKS of
   * them. A missing last component is no error (the caller decides); a
   * missing or non-directory component before it is.
   */
  walk(path: string, followLast: boolean, syscall: string, check = true): Walked {
    if (path.includes('\0')) throw fsError('EINVAL', syscall, path);
    if (tooLong(path, PATH_MAX)) throw fsError('ENAMETOOLONG', syscall, path);
    if (path === '') throw fsError('ENOENT', syscall, path);
    const dirs: DirInode[] = [this.root];
    const names: string[] = [];
    let pending = splitPath(path);
    if (!path.startsWith('/')) pending = [...splitPath(this.cwd), ...pending];
    // A trailing slash asks for a directory: a link there is followed.
    const wantDir = path.length > 1 && path.endsWith('/');
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      const dir = top(dirs);
      if (part === '.') continue;
      if (part === '..') {
        if (dirs.length > 1) {
          dirs.pop();
          names.pop();
        }
        continue;
      }
      if (check) this.access(dir, X, syscall, path);
      if (tooLong(part, NAME_MAX)) throw fsError('ENAMETOOLONG', syscall, path);
      const last = pending.length === 0;
      const node = dir.entries.get(part);
      if (node === undefined) {
        if (last) return { dirs, names, name: part, node: undefined };
        throw fsError('ENOENT', syscall, path);
      }
      if (node.kind === 'symlink' && (!last || followLast || wantDir)) {
        if (++links > MAX_SYMLINKS) throw fsError('ELOOP', syscall, path);
        if (node.target.startsWith('/')) {
          dirs.length = 1;
          names.length = 0;
        }
        pending = [...splitPath(node.target), ...pending];
        continue;
      }
      if (last) {
        if (wantDir && node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
        return { dirs, names, name: part, node };
      }
      if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
      dirs.push(node);
      names.push(part);
    }
    return { dirs, names, name: undefined, node: top(dirs) };
  }

  existing(w: Walked, syscall: string, path: string): Inode {
    if (w.node === undefined) throw fsError('ENOENT', syscall, path);
    return w.node;
  }

  access(node: Inode, want: number, syscall: string, path: string): void {
    if (this.uid === 0 || want === 0) return;
    const bits = node.uid === this.uid ? (node.mode >> 6) & 7 : this.gids.includes(node.gid) ? (node.mode >> 3) & 7 : node.mode & 7;
    if ((bits & want) !== want) throw fsError('EACCES', syscall, path);
  }

  /** Unlinking `node` from `dir`: write and search on the directory, and the sticky bit's owner rule. */
  mayRemove(dir: DirInode, node: Inode, syscall: string, path: string): void {
    this.access(dir, W | X, syscall, path);
    if (this.uid !== 0 && (dir.mode & 0o1000) !== 0 && node.uid !== this.uid && dir.uid !== this.uid) throw fsError('EPERM', syscall, path);
  }

  writable(syscall: string, path: string): void {
    if (this.readOnly) throw fsError('EROFS', syscall, path);
  }

  applyAttrs(node: Inode, attrs: FileAttributes, syscall: string, path: string, viaHandle = false): void {
    const owner = this.uid === 0 || node.uid === this.uid;
    if (attrs.size !== undefined || attrs.mode !== undefined || attrs.uid !== undefined || attrs.atime !== undefined) this.writable(syscall, path);
    if (attrs.size !== undefined) {
      if (node.kind === 'dir') throw fsError('EISDIR', 'truncate', path);
      if (node.kind === 'symlink') throw fsError('EINVAL', 'truncate', path);
      if (!viaHandle) this.access(node, W, 'truncate', path);
      this.resize(node, attrs.size, 'truncate', path);
    }
    if (attrs.mode !== undefined) {
      if (node.kind === 'symlink') throw fsError('EOPNOTSUPP', 'chmod', path);
      if (!owner) throw fsError('EPERM', 'chmod', path);
      node.mode = (node.mode & S_IFMT) | (attrs.mode & 0o7777);
    }
    if (attrs.uid !== undefined && attrs.gid !== undefined) {
      const changesUser = attrs.uid !== node.uid;
      if (this.uid !== 0 && (changesUser || !owner || !this.gids.includes(attrs.gid))) throw fsError('EPERM', 'chown', path);
      node.uid = attrs.uid >>> 0;
      node.gid = attrs.gid >>> 0;
    }
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      if (!owner) throw fsError('EPERM', 'utime', path);
      node.atime = attrs.atime;
      node.mtime = attrs.mtime;
    }
  }

  /** Sets a file's length, zero-filling growth; refuses growth past the capacity. */
  resize(file: FileInode, size: number, syscall: string, path: string): void {
    if (!Number.isSafeInteger(size) || size < 0) throw fsError('EINVAL', syscall, path);
    const growth = size - file.size;
    if (growth > 0) this.reserve(growth, syscall, path);
    if (size > file.data.length) this.grow(file, size);
    else file.data.fill(0, size, file.size);
    this.usedBytes += growth;
    file.size = size;
    file.mtime = this.seconds();
  }

  writeAt(file: FileInode, offset: number, data: Uint8Array, syscall: string, path: string): void {
    const end = offset + data.length;
    if (!Number.isSafeInteger(end) || offset < 0) throw fsError('EINVAL', syscall, path);
    if (end > file.size) {
      this.reserve(end - file.size, syscall, path);
      if (end > file.data.length) this.grow(file, end);
      this.usedBytes += end - file.size;
      file.size = end;
    }
    file.data.set(data, offset);
    file.mtime = this.seconds();
  }

  reserve(bytes: number, syscall: string, path: string): void {
    if (this.usedBytes + bytes > this.capacity) throw fsError('ENOSPC', syscall, path);
  }

  /** A larger backing array (doubling, so appends stay linear); bytes past `size` are zero. */
  grow(file: FileInode, atLeast: number): void {
    const next = new Uint8Array(Math.max(atLeast, Math.min(file.data.length * 2, atLeast + 64 * 1024 * 1024)));
    next.set(file.data.subarray(0, file.size));
    file.data = next;
  }

  newDir(mode: number, uid: number, gid: number): DirInode {
    const t = this.seconds();
    this.inodes++;
    return { kind: 'dir', entries: new Map(), mode: S_IFDIR | (mode & 0o7777), uid, gid, atime: t, mtime: t, nlink: 1 };
  }

  newFile(mode: number, uid: number, gid: number): FileInode {
    const t = this.seconds();
    this.inodes++;
    return { kind: 'file', data: new Uint8Array(0), size: 0, opens: 0, mode: S_IFREG | (mode & 0o7777), uid, gid, atime: t, mtime: t, nlink: 0 };
  }

  /** Adds a name for `node` in `dir` (a directory's `..` counts in its parent's links). */
  link(dir: DirInode, name: string, node: Inode): void {
    dir.entries.set(name, node);
    node.nlink++;
    if (node.kind === 'dir') dir.nlink++;
  }

  unlink(dir: DirInode, name: string): void {
    const node = dir.entries.get(name)!;
    dir.entries.delete(name);
    dir.mtime = this.seconds();
    if (node.kind === 'dir') {
      dir.nlink--;
      node.nlink = 0;
      this.inodes--;
      return;
    }
    node.nlink--;
    if (node.kind === 'file') this.freeIfGone(node);
    else if (node.nlink === 0) this.inodes--;
  }

  freeIfGone(file: FileInode): void {
    if (file.nlink > 0 || file.opens > 0) return;
    this.usedBytes -= file.size;
    this.inodes--;
    file.size = 0;
    file.data = new Uint8Array(0);
  }

  stats(node: Inode): FileStats {
    const size = node.kind === 'file' ? node.size : node.kind === 'dir' ? BLOCK : pathByteLength(node.target);
    const out: FileStats = { size, uid: node.uid, gid: node.gid, mode: node.mode, atime: node.atime, mtime: node.mtime, nlink: node.nlink };
    const owner = this.names.user(node.uid);
    const group = this.names.group(node.gid);
    if (owner !== undefined) out.owner = owner;
    if (group !== undefined) out.group = group;
    return out;
  }

  statvfs(): Statvfs {
    const capacity = Number.isFinite(this.capacity) ? this.capacity : 2 ** 52;
    const blocks = Math.ceil(capacity / BLOCK);
    const free = Math.max(0, Math.floor((capacity - this.usedBytes) / BLOCK));
    const files = 1 << 20;
    const ffree = Math.max(0, files - this.inodes);
    return {
      bsize: BLOCK, frsize: BLOCK, blocks, bfree: free, bavail: free, files, ffree, favail: ffree,
      fsid: 0x6e6d656d, flag: this.readOnly ? STATVFS_FLAG.RDONLY : 0, namemax: NAME_MAX,
    };
  }

  newLink(target: string, uid: number, gid: number): LinkInode {
    const t = this.seconds();
    this.inodes++;
    return { kind: 'symlink', target, mode: S_IFLNK | 0o777, uid, gid, atime: t, mtime: t, nlink: 0 };
  }

  seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

export function top<T>(list: readonly T[]): T {
  return list[list.length - 1]!;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

export function checkName(name: string, syscall: string, path: string): void {
  if (tooLong(name, NAME_MAX)) throw fsError('ENAMETOOLONG', syscall, path);
}

/** `/a/./b/../c` -> `/a/c`, for the configured start directory and setup helpers (no links followed). */
export function normalizeAbsolute(path: string): string {
  const out: string[] = [];
  for (const part of splitPath(path)) {
    if (part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}
