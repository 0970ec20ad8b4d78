// A FileSystem held in memory, for tests and for embedding a server that
// serves no disk. It behaves like a POSIX file system seen through
// sftp-server: inodes (so hard links and open-but-unlinked files work),
// symbolic links resolved component by component with a loop limit, modes
// and owners with permission checks for one configured user, a capacity in
// bytes, and fault hooks (short reads, an errno on chosen operations) that
// tests of clients and servers need. Pure: no Node module, no timer; the
// clock is the injected `now()`.
import type { FileAttributes } from './attrs.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './attrs.js';
import { STATVFS_FLAG } from './constants.js';
import type { Statvfs } from './extensions.js';
import type { DirectoryEntry, DirectoryHandle, FileHandle, FileStats, FileSystem, OpenMode } from './filesystem.js';

/** The operations a fault hook sees (a handle's operations name the path it was opened with). */
export type MemoryFsOperation =
  | 'open' | 'read' | 'write' | 'fstat' | 'fsetstat' | 'fsync' | 'fstatvfs' | 'close'
  | 'opendir' | 'readdir' | 'closedir'
  | 'stat' | 'lstat' | 'setstat' | 'remove' | 'mkdir' | 'rmdir' | 'realpath' | 'rename'
  | 'readlink' | 'symlink' | 'link' | 'statvfs' | 'homeDirectory' | 'names';

/** Hooks a test sets (and may change at any time) to make operations misbehave. */
export interface MemoryFsFaults {
  /** Reads return at most this many bytes (short reads in mid-file). */
  maxReadBytes?: number;
  /**
   * Called before every operation: return an errno name (`EIO`, `ENOSPC` ...)
   * to fail it with, or nothing to let it run. It may return a promise, which
   * holds the operation back until it settles (to reorder replies).
   */
  onOperation?: (operation: MemoryFsOperation, path: string) => string | undefined | Promise<string | undefined>;
}

export interface MemoryUser {
  name: string;
  uid: number;
  home: string;
}

export interface MemoryFileSystemOptions {
  /** Milliseconds since the epoch (pass `Date.now`); the default clock stands at 0. */
  now?: () => number;
  /** The user operations run as (default 0, root, who passes every permission check). */
  uid?: number;
  /** That user's groups, the first its primary group (default [uid]). */
  gids?: number[];
  /** Applied to the modes of created files and directories (default 0o022). */
  umask?: number;
  /** Total bytes of file data held; a write past it rejects ENOSPC (default 1 GiB; Infinity for none). */
  capacity?: number;
  /** The working directory relative paths start from, created if missing (default `/`). */
  startDirectory?: string;
  /** Users known to homeDirectory() and names(); the session's own home is `startDirectory`. */
  users?: MemoryUser[];
  groups?: { name: string; gid: number }[];
  /** Refuse every change with EROFS (and say so in statvfs). */
  readOnly?: boolean;
  /** Entries per directory read (default 100, as sftp-server sends). */
  readdirBatch?: number;
}

interface InodeBase {
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  nlink: number;
}
interface FileInode extends InodeBase {
  kind: 'file';
  data: Uint8Array;
  size: number;
  /** Handles open on it: an unlinked file's bytes are freed at the last close. */
  opens: number;
}
interface DirInode extends InodeBase {
  kind: 'dir';
  entries: Map<string, Inode>;
}
interface LinkInode extends InodeBase {
  kind: 'symlink';
  target: string;
}
type Inode = FileInode | DirInode | LinkInode;

/** A path walked: the directories from the root down to `parent`, and the last component. */
interface Walked {
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
  EOPNOTSUPP: 'operation not supported on socket',
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

const MAX_SYMLINKS = 40;
const NAME_MAX = 255;
const PATH_MAX = 4096;
const BLOCK = 4096;
const R = 4;
const W = 2;
const X = 1;

export class MemoryFileSystem implements FileSystem {
  /** Fault hooks; tests set and clear them between operations. */
  faults: MemoryFsFaults = {};
  readonly uid: number;
  readonly gids: readonly number[];
  readonly capacity: number;
  private readonly now: () => number;
  private readonly umask: number;
  private readonly readOnly: boolean;
  private readonly batch: number;
  private readonly users: MemoryUser[];
  private readonly groups: { name: string; gid: number }[];
  private readonly root: DirInode;
  private readonly cwd: string;
  private usedBytes = 0;
  private inodes = 1;

  constructor(options: MemoryFileSystemOptions = {}) {
    this.now = options.now ?? (() => 0);
    this.uid = options.uid ?? 0;
    this.gids = options.gids && options.gids.length > 0 ? [...options.gids] : [this.uid];
    this.umask = options.umask ?? 0o022;
    this.capacity = options.capacity ?? 1024 * 1024 * 1024;
    this.readOnly = options.readOnly ?? false;
    this.batch = Math.max(1, options.readdirBatch ?? 100);
    this.users = options.users ?? [];
    this.groups = options.groups ?? [];
    this.root = this.newDir(0o755, 0, 0);
    this.root.nlink = 2; // its `..` is itself
    this.cwd = normalizeAbsolute(options.startDirectory ?? '/');
    this.mkdirs(this.cwd, { uid: this.uid, gid: this.primaryGid });
  }

  /** Bytes of file data held (what counts against the capacity). */
  get used(): number {
    return this.usedBytes;
  }

  private get primaryGid(): number {
    return this.gids[0]!;
  }

  // --- setup helpers: no permission checks, no faults -------------------

  /** Creates a directory and its missing parents (as root unless owners are given). */
  mkdirs(path: string, owner: { uid?: number; gid?: number; mode?: number } = {}): void {
    let dir = this.root;
    for (const part of splitPath(normalizeAbsolute(path))) {
      const next = dir.entries.get(part);
      if (next === undefined) {
        const made = this.newDir(owner.mode ?? 0o755, owner.uid ?? 0, owner.gid ?? 0);
        this.link_(dir, part, made);
        dir = made;
      } else if (next.kind === 'dir') dir = next;
      else throw fsError('ENOTDIR', 'mkdir', path);
    }
  }

  /** Writes a whole file (creating parents), replacing one that is there. */
  writeFile(path: string, data: Uint8Array | string, options: { mode?: number; uid?: number; gid?: number; mtime?: number } = {}): void {
    const abs = normalizeAbsolute(path);
    const cut = abs.lastIndexOf('/');
    this.mkdirs(abs.slice(0, cut) || '/');
    const w = this.walkAsRoot(abs, true);
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let file = w.node;
    if (file === undefined) {
      file = this.newFile(options.mode ?? 0o644, options.uid ?? 0, options.gid ?? 0);
      this.link_(top(w.dirs), w.name!, file);
    }
    if (file.kind !== 'file') throw fsError('EISDIR', 'open', path);
    this.resize(file, 0, 'write', path);
    this.writeAt(file, 0, bytes, 'write', path);
    if (options.mode !== undefined) file.mode = S_IFREG | (options.mode & 0o7777);
    if (options.mtime !== undefined) file.mtime = options.mtime;
  }

  /** A copy of a file's bytes (symbolic links followed). */
  readFile(path: string): Uint8Array {
    const node = this.walkAsRoot(normalizeAbsolute(path), true).node;
    if (node === undefined) throw fsError('ENOENT', 'open', path);
    if (node.kind !== 'file') throw fsError('EISDIR', 'read', path);
    return node.data.slice(0, node.size);
  }

  private walkAsRoot(abs: string, followLast: boolean): Walked {
    return this.walk(abs, followLast, 'open', false);
  }

  // --- FileSystem ---------------------------------------------------------

  async open(path: string, mode: OpenMode, attrs: FileAttributes): Promise<FileHandle> {
    await this.fault('open', path);
    const exclusive = mode.create && mode.exclusive;
    const w = this.walk(path, !exclusive, 'open');
    let node = w.node;
    const writing = mode.write || mode.append;
    if (node === undefined) {
      if (!mode.create) throw fsError('ENOENT', 'open', path);
      if (w.name === undefined) throw fsError('EISDIR', 'open', path);
      this.writable('open', path);
      const parent = top(w.dirs);
      this.access(parent, W | X, 'open', path);
      checkName(w.name, 'open', path);
      node = this.newFile((attrs.mode ?? 0o666) & ~this.umask, this.uid, this.primaryGid);
      this.link_(parent, w.name, node);
      parent.mtime = this.seconds();
    } else {
      if (exclusive) throw fsError('EEXIST', 'open', path);
      if (node.kind === 'dir' && writing) throw fsError('EISDIR', 'open', path);
      if (node.kind === 'symlink') throw fsError('ELOOP', 'open', path);
      if (writing) this.writable('open', path);
      this.access(node, (mode.read ? R : 0) | (writing ? W : 0), 'open', path);
      if (node.kind === 'file' && mode.truncate && writing) this.resize(node, 0, 'open', path);
    }
    return this.fileHandle(node, path, mode);
  }

  async opendir(path: string): Promise<DirectoryHandle> {
    await this.fault('opendir', path);
    const w = this.walk(path, true, 'opendir');
    const dir = this.existing(w, 'opendir', path);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', 'opendir', path);
    this.access(dir, R, 'opendir', path);
    const parent = w.name === undefined ? (w.dirs[w.dirs.length - 2] ?? this.root) : top(w.dirs);
    const listing: [string, Inode][] = [['.', dir], ['..', parent], ...dir.entries];
    let at = 0;
    let open = true;
    return {
      read: async () => {
        await this.fault('readdir', path);
        if (!open) throw fsError('EBADF', 'readdir', path);
        if (at >= listing.length) return null;
        const batch = listing.slice(at, at + this.batch);
        at += batch.length;
        return batch.map(([name, node]): DirectoryEntry => ({ name, stats: this.stats(node) }));
      },
      close: async () => {
        await this.fault('closedir', path);
        if (!open) throw fsError('EBADF', 'closedir', path);
        open = false;
      },
    };
  }

  async stat(path: string): Promise<FileStats> {
    await this.fault('stat', path);
    return this.stats(this.existing(this.walk(path, true, 'stat'), 'stat', path));
  }

  async lstat(path: string): Promise<FileStats> {
    await this.fault('lstat', path);
    return this.stats(this.existing(this.walk(path, false, 'lstat'), 'lstat', path));
  }

  async setstat(path: string, attrs: FileAttributes, followSymlinks: boolean): Promise<void> {
    await this.fault('setstat', path);
    const node = this.existing(this.walk(path, followSymlinks, 'setstat'), 'setstat', path);
    this.applyAttrs(node, attrs, 'setstat', path);
  }

  async remove(path: string): Promise<void> {
    await this.fault('remove', path);
    const w = this.walk(path, false, 'unlink');
    const node = this.existing(w, 'unlink', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    this.writable('unlink', path);
    this.mayRemove(top(w.dirs), node, 'unlink', path);
    this.unlink_(top(w.dirs), w.name!);
  }

  async mkdir(path: string, attrs: FileAttributes): Promise<void> {
    await this.fault('mkdir', path);
    const w = this.walk(path.replace(/\/+$/, '') || '/', false, 'mkdir');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'mkdir', path);
    this.writable('mkdir', path);
    const parent = top(w.dirs);
    this.access(parent, W | X, 'mkdir', path);
    checkName(w.name, 'mkdir', path);
    this.link_(parent, w.name, this.newDir((attrs.mode ?? 0o777) & ~this.umask, this.uid, this.primaryGid));
    parent.mtime = this.seconds();
  }

  async rmdir(path: string): Promise<void> {
    await this.fault('rmdir', path);
    const w = this.walk(path, false, 'rmdir');
    const node = this.existing(w, 'rmdir', path);
    if (w.name === undefined) throw fsError(w.dirs.length === 1 ? 'EBUSY' : 'EINVAL', 'rmdir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
    this.writable('rmdir', path);
    this.mayRemove(top(w.dirs), node, 'rmdir', path);
    if (node.entries.size > 0) throw fsError('ENOTEMPTY', 'rmdir', path);
    this.unlink_(top(w.dirs), w.name);
  }

  async realpath(path: string): Promise<string> {
    await this.fault('realpath', path);
    const w = this.walk(path === '' ? '.' : path, true, 'realpath');
    const names = w.name === undefined ? w.names : [...w.names, w.name];
    return '/' + names.join('/');
  }

  async rename(oldPath: string, newPath: string, posix: boolean): Promise<void> {
    await this.fault('rename', oldPath);
    const from = this.walk(oldPath, false, 'rename');
    const node = this.existing(from, 'rename', oldPath);
    const to = this.walk(newPath, false, 'rename');
    if (from.name === undefined || to.name === undefined) throw fsError('EBUSY', 'rename', oldPath, newPath);
    this.writable('rename', oldPath);
    const fromDir = top(from.dirs);
    const toDir = top(to.dirs);
    this.mayRemove(fromDir, node, 'rename', oldPath);
    this.access(toDir, W | X, 'rename', newPath);
    checkName(to.name, 'rename', newPath);
    const target = to.node;
    // SSH_FXP_RENAME refuses any existing target, as sftp-server's link()+unlink() does.
    if (target !== undefined && !posix) throw fsError('EEXIST', 'rename', oldPath, newPath);
    if (target === node) return; // the same file under two names: POSIX does nothing
    if (target !== undefined) {
      this.mayRemove(toDir, target, 'rename', newPath);
      if (node.kind === 'dir' && target.kind !== 'dir') throw fsError('ENOTDIR', 'rename', oldPath, newPath);
      if (node.kind !== 'dir' && target.kind === 'dir') throw fsError('EISDIR', 'rename', oldPath, newPath);
      if (target.kind === 'dir' && target.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', oldPath, newPath);
    }
    if (node.kind === 'dir' && to.dirs.includes(node)) throw fsError('EINVAL', 'rename', oldPath, newPath);
    if (target !== undefined) this.unlink_(toDir, to.name);
    fromDir.entries.delete(from.name);
    node.nlink--;
    if (node.kind === 'dir') fromDir.nlink--;
    this.link_(toDir, to.name, node);
    fromDir.mtime = toDir.mtime = this.seconds();
  }

  async readlink(path: string): Promise<string> {
    await this.fault('readlink', path);
    const node = this.existing(this.walk(path, false, 'readlink'), 'readlink', path);
    if (node.kind !== 'symlink') throw fsError('EINVAL', 'readlink', path);
    return node.target;
  }

  async symlink(targetPath: string, linkPath: string): Promise<void> {
    await this.fault('symlink', linkPath);
    const w = this.walk(linkPath, false, 'symlink');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'symlink', targetPath, linkPath);
    if (targetPath === '') throw fsError('ENOENT', 'symlink', targetPath, linkPath);
    if (targetPath.length > PATH_MAX) throw fsError('ENAMETOOLONG', 'symlink', targetPath, linkPath);
    this.writable('symlink', linkPath);
    const parent = top(w.dirs);
    this.access(parent, W | X, 'symlink', linkPath);
    checkName(w.name, 'symlink', linkPath);
    const t = this.seconds();
    this.link_(parent, w.name, { kind: 'symlink', target: targetPath, mode: S_IFLNK | 0o777, uid: this.uid, gid: this.primaryGid, atime: t, mtime: t, nlink: 0 });
    this.inodes++;
    parent.mtime = t;
  }

  async link(oldPath: string, newPath: string): Promise<void> {
    await this.fault('link', oldPath);
    const node = this.existing(this.walk(oldPath, false, 'link'), 'link', oldPath);
    if (node.kind === 'dir') throw fsError('EPERM', 'link', oldPath, newPath);
    const w = this.walk(newPath, false, 'link');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'link', oldPath, newPath);
    this.writable('link', newPath);
    const parent = top(w.dirs);
    this.access(parent, W | X, 'link', newPath);
    checkName(w.name, 'link', newPath);
    this.link_(parent, w.name, node);
    parent.mtime = this.seconds();
  }

  async statvfs(path: string): Promise<Statvfs> {
    await this.fault('statvfs', path);
    this.existing(this.walk(path, true, 'statvfs'), 'statvfs', path);
    return this.statvfsNow();
  }

  async homeDirectory(username: string): Promise<string> {
    await this.fault('homeDirectory', username);
    if (username === '') return this.cwd;
    const user = this.users.find((u) => u.name === username);
    if (user === undefined) throw fsError('ENOENT', 'getpwnam', username);
    return user.home;
  }

  async names(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }> {
    await this.fault('names', '');
    return { users: uids.map((u) => this.userName(u) ?? ''), groups: gids.map((g) => this.groupName(g) ?? '') };
  }

  // --- handles --------------------------------------------------------------

  private fileHandle(node: Inode, path: string, mode: OpenMode): FileHandle {
    let open = true;
    if (node.kind === 'file') node.opens++;
    const live = (op: string): Inode => {
      if (!open) throw fsError('EBADF', op, path);
      return node;
    };
    return {
      read: async (offset, length) => {
        await this.fault('read', path);
        const n = live('read');
        if (!mode.read) throw fsError('EBADF', 'read', path);
        if (n.kind !== 'file') throw fsError('EISDIR', 'read', path);
        const cap = this.faults.maxReadBytes;
        const want = cap !== undefined && cap > 0 ? Math.min(length, cap) : length;
        if (offset >= n.size) return new Uint8Array(0);
        return n.data.slice(offset, Math.min(n.size, offset + want));
      },
      write: async (offset, data) => {
        await this.fault('write', path);
        const n = live('write');
        if (!mode.write && !mode.append) throw fsError('EBADF', 'write', path);
        if (n.kind !== 'file') throw fsError('EISDIR', 'write', path);
        this.writable('write', path);
        this.writeAt(n, mode.append ? n.size : offset, data, 'write', path);
      },
      stat: async () => {
        await this.fault('fstat', path);
        return this.stats(live('fstat'));
      },
      setstat: async (attrs) => {
        await this.fault('fsetstat', path);
        const n = live('fsetstat');
        if (attrs.size !== undefined && !mode.write && !mode.append) throw fsError('EINVAL', 'ftruncate', path);
        this.applyAttrs(n, attrs, 'fsetstat', path, true);
      },
      sync: async () => {
        await this.fault('fsync', path);
        live('fsync');
      },
      statvfs: async () => {
        await this.fault('fstatvfs', path);
        live('fstatvfs');
        return this.statvfsNow();
      },
      close: async () => {
        await this.fault('close', path);
        live('close');
        open = false;
        if (node.kind === 'file') {
          node.opens--;
          this.freeIfGone(node);
        }
      },
    };
  }

  // --- the tree -------------------------------------------------------------

  /**
   * Walks a path from the root (absolute) or the working directory, checking
   * search permission on every directory passed, following symbolic links
   * on the way (and at the end when `followLast`), at most MAX_SYMLINKS of
   * them. A missing last component is no error (the caller decides); a
   * missing or non-directory component before it is.
   */
  private walk(path: string, followLast: boolean, syscall: string, check = true): Walked {
    if (path.includes('\0')) throw fsError('EINVAL', syscall, path);
    if (path.length > PATH_MAX) throw fsError('ENAMETOOLONG', syscall, path);
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
      if (part.length > NAME_MAX) throw fsError('ENAMETOOLONG', syscall, path);
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

  private existing(w: Walked, syscall: string, path: string): Inode {
    if (w.node === undefined) throw fsError('ENOENT', syscall, path);
    return w.node;
  }

  private access(node: Inode, want: number, syscall: string, path: string): void {
    if (this.uid === 0 || want === 0) return;
    const bits = node.uid === this.uid ? (node.mode >> 6) & 7 : this.gids.includes(node.gid) ? (node.mode >> 3) & 7 : node.mode & 7;
    if ((bits & want) !== want) throw fsError('EACCES', syscall, path);
  }

  /** Unlinking `node` from `dir`: write and search on the directory, and the sticky bit's owner rule. */
  private mayRemove(dir: DirInode, node: Inode, syscall: string, path: string): void {
    this.access(dir, W | X, syscall, path);
    if (this.uid !== 0 && (dir.mode & 0o1000) !== 0 && node.uid !== this.uid && dir.uid !== this.uid) throw fsError('EPERM', syscall, path);
  }

  private writable(syscall: string, path: string): void {
    if (this.readOnly) throw fsError('EROFS', syscall, path);
  }

  private applyAttrs(node: Inode, attrs: FileAttributes, syscall: string, path: string, viaHandle = false): void {
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
  private resize(file: FileInode, size: number, syscall: string, path: string): void {
    if (!Number.isSafeInteger(size) || size < 0) throw fsError('EINVAL', syscall, path);
    const growth = size - file.size;
    if (growth > 0) this.reserve(growth, syscall, path);
    if (size > file.data.length) this.grow(file, size);
    else file.data.fill(0, size, file.size);
    this.usedBytes += growth;
    file.size = size;
    file.mtime = this.seconds();
  }

  private writeAt(file: FileInode, offset: number, data: Uint8Array, syscall: string, path: string): void {
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

  private reserve(bytes: number, syscall: string, path: string): void {
    if (this.usedBytes + bytes > this.capacity) throw fsError('ENOSPC', syscall, path);
  }

  /** A larger backing array (doubling, so appends stay linear); bytes past `size` are zero. */
  private grow(file: FileInode, atLeast: number): void {
    const next = new Uint8Array(Math.max(atLeast, Math.min(file.data.length * 2, atLeast + 64 * 1024 * 1024)));
    next.set(file.data.subarray(0, file.size));
    file.data = next;
  }

  private newDir(mode: number, uid: number, gid: number): DirInode {
    const t = this.seconds();
    this.inodes++;
    return { kind: 'dir', entries: new Map(), mode: S_IFDIR | (mode & 0o7777), uid, gid, atime: t, mtime: t, nlink: 1 };
  }

  private newFile(mode: number, uid: number, gid: number): FileInode {
    const t = this.seconds();
    this.inodes++;
    return { kind: 'file', data: new Uint8Array(0), size: 0, opens: 0, mode: S_IFREG | (mode & 0o7777), uid, gid, atime: t, mtime: t, nlink: 0 };
  }

  /** Adds a name for `node` in `dir` (a directory's `..` counts in its parent's links). */
  private link_(dir: DirInode, name: string, node: Inode): void {
    dir.entries.set(name, node);
    node.nlink++;
    if (node.kind === 'dir') dir.nlink++;
  }

  private unlink_(dir: DirInode, name: string): void {
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

  private freeIfGone(file: FileInode): void {
    if (file.nlink > 0 || file.opens > 0) return;
    this.usedBytes -= file.size;
    this.inodes--;
    file.size = 0;
    file.data = new Uint8Array(0);
  }

  private stats(node: Inode): FileStats {
    const size = node.kind === 'file' ? node.size : node.kind === 'dir' ? BLOCK : new TextEncoder().encode(node.target).length;
    const out: FileStats = { size, uid: node.uid, gid: node.gid, mode: node.mode, atime: node.atime, mtime: node.mtime, nlink: node.nlink };
    const owner = this.userName(node.uid);
    const group = this.groupName(node.gid);
    if (owner !== undefined) out.owner = owner;
    if (group !== undefined) out.group = group;
    return out;
  }

  private statvfsNow(): Statvfs {
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

  private userName(uid: number): string | undefined {
    return this.users.find((u) => u.uid === uid)?.name;
  }

  private groupName(gid: number): string | undefined {
    return this.groups.find((g) => g.gid === gid)?.name;
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private async fault(operation: MemoryFsOperation, path: string): Promise<void> {
    const hook = this.faults.onOperation;
    if (hook === undefined) return;
    const code = await hook(operation, path);
    if (code !== undefined) throw fsError(code, operation, path);
  }
}

function top<T>(list: readonly T[]): T {
  return list[list.length - 1]!;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

function checkName(name: string, syscall: string, path: string): void {
  if (name.length > NAME_MAX) throw fsError('ENAMETOOLONG', syscall, path);
}

/** `/a/./b/../c` -> `/a/c`, for the configured start directory and setup helpers (no links followed). */
function normalizeAbsolute(path: string): string {
  const out: string[] = [];
  for (const part of splitPath(path)) {
    if (part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}
