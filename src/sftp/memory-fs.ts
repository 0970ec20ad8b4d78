// A FileSystem held in memory, for tests and for embedding a server that
// serves no disk. It behaves like a POSIX file system seen through
// sftp-server: inodes (so hard links and open-but-unlinked files work),
// symbolic links resolved component by component with a loop limit, modes
// and owners with permission checks for one configured user, a capacity in
// bytes, and fault hooks (short reads, an errno on chosen operations) that
// tests of clients and servers need. The operations (and their handles)
// are here; the inodes, path walking and permission checks are
// memory-fs-tree.ts. Pure: no Node module, no timer; the clock is the
// injected `now()`.
import type { FileAttributes } from './attrs.js';
import { S_IFREG } from './attrs.js';
import type { Statvfs } from './extensions.js';
import type { DirectoryEntry, DirectoryHandle, FileHandle, FileStats, FileSystem, OpenMode } from './filesystem.js';
import { MemoryTree, PATH_MAX, R, W, X, checkName, fsError, normalizeAbsolute, splitPath, tooLong, top, type Inode, type Walked } from './memory-fs-tree.js';

export { fsError } from './memory-fs-tree.js';

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

export class MemoryFileSystem implements FileSystem {
  /** Fault hooks; tests set and clear them between operations. */
  faults: MemoryFsFaults = {};
  readonly uid: number;
  readonly gids: readonly number[];
  readonly capacity: number;
  private readonly umask: number;
  private readonly batch: number;
  private readonly users: MemoryUser[];
  private readonly groups: { name: string; gid: number }[];
  private readonly tree: MemoryTree;
  private readonly cwd: string;

  constructor(options: MemoryFileSystemOptions = {}) {
    this.uid = options.uid ?? 0;
    this.gids = options.gids && options.gids.length > 0 ? [...options.gids] : [this.uid];
    this.umask = options.umask ?? 0o022;
    this.capacity = options.capacity ?? 1024 * 1024 * 1024;
    this.batch = Math.max(1, options.readdirBatch ?? 100);
    this.users = options.users ?? [];
    this.groups = options.groups ?? [];
    this.tree = new MemoryTree({
      now: options.now ?? (() => 0),
      uid: this.uid,
      gids: this.gids,
      capacity: this.capacity,
      readOnly: options.readOnly ?? false,
      names: { user: (uid: number) => this.userName(uid), group: (gid: number) => this.groupName(gid) },
    });
    this.cwd = normalizeAbsolute(options.startDirectory ?? '/');
    this.tree.cwd = this.cwd;
    this.mkdirs(this.cwd, { uid: this.uid, gid: this.primaryGid });
  }

  /** Bytes of file data held (what counts against the capacity). */
  get used(): number {
    return this.tree.usedBytes;
  }

  private get primaryGid(): number {
    return this.gids[0]!;
  }

  // --- setup helpers: no permission checks, no faults -------------------

  /** Creates a directory and its missing parents (as root unless owners are given). */
  mkdirs(path: string, owner: { uid?: number; gid?: number; mode?: number } = {}): void {
    let dir = this.tree.root;
    for (const part of splitPath(normalizeAbsolute(path))) {
      const next = dir.entries.get(part);
      if (next === undefined) {
        const made = this.tree.newDir(owner.mode ?? 0o755, owner.uid ?? 0, owner.gid ?? 0);
        this.tree.link(dir, part, made);
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
      file = this.tree.newFile(options.mode ?? 0o644, options.uid ?? 0, options.gid ?? 0);
      this.tree.link(top(w.dirs), w.name!, file);
    }
    if (file.kind !== 'file') throw fsError('EISDIR', 'open', path);
    this.tree.resize(file, 0, 'write', path);
    this.tree.writeAt(file, 0, bytes, 'write', path);
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
    return this.tree.walk(abs, followLast, 'open', false);
  }

  // --- FileSystem ---------------------------------------------------------

  async open(path: string, mode: OpenMode, attrs: FileAttributes): Promise<FileHandle> {
    await this.fault('open', path);
    const exclusive = mode.create && mode.exclusive;
    const w = this.tree.walk(path, !exclusive, 'open');
    let node = w.node;
    const writing = mode.write || mode.append;
    if (node === undefined) {
      if (!mode.create) throw fsError('ENOENT', 'open', path);
      if (w.name === undefined) throw fsError('EISDIR', 'open', path);
      this.tree.writable('open', path);
      const parent = top(w.dirs);
      this.tree.access(parent, W | X, 'open', path);
      checkName(w.name, 'open', path);
      node = this.tree.newFile((attrs.mode ?? 0o666) & ~this.umask, this.uid, this.primaryGid);
      this.tree.link(parent, w.name, node);
      parent.mtime = this.tree.seconds();
    } else {
      if (exclusive) throw fsError('EEXIST', 'open', path);
      if (node.kind === 'dir' && writing) throw fsError('EISDIR', 'open', path);
      if (node.kind === 'symlink') throw fsError('ELOOP', 'open', path);
      if (writing) this.tree.writable('open', path);
      this.tree.access(node, (mode.read ? R : 0) | (writing ? W : 0), 'open', path);
      if (node.kind === 'file' && mode.truncate && writing) this.tree.resize(node, 0, 'open', path);
    }
    return this.fileHandle(node, path, mode);
  }

  async opendir(path: string): Promise<DirectoryHandle> {
    await this.fault('opendir', path);
    const w = this.tree.walk(path, true, 'opendir');
    const dir = this.tree.existing(w, 'opendir', path);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', 'opendir', path);
    this.tree.access(dir, R, 'opendir', path);
    const parent = w.name === undefined ? (w.dirs[w.dirs.length - 2] ?? this.tree.root) : top(w.dirs);
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
        return batch.map(([name, node]): DirectoryEntry => ({ name, stats: this.tree.stats(node) }));
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
    return this.tree.stats(this.tree.existing(this.tree.walk(path, true, 'stat'), 'stat', path));
  }

  async lstat(path: string): Promise<FileStats> {
    await this.fault('lstat', path);
    return this.tree.stats(this.tree.existing(this.tree.walk(path, false, 'lstat'), 'lstat', path));
  }

  async setstat(path: string, attrs: FileAttributes, followSymlinks: boolean): Promise<void> {
    await this.fault('setstat', path);
    const node = this.tree.existing(this.tree.walk(path, followSymlinks, 'setstat'), 'setstat', path);
    this.tree.applyAttrs(node, attrs, 'setstat', path);
  }

  async remove(path: string): Promise<void> {
    await this.fault('remove', path);
    const w = this.tree.walk(path, false, 'unlink');
    const node = this.tree.existing(w, 'unlink', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    this.tree.writable('unlink', path);
    this.tree.mayRemove(top(w.dirs), node, 'unlink', path);
    this.tree.unlink(top(w.dirs), w.name!);
  }

  async mkdir(path: string, attrs: FileAttributes): Promise<void> {
    await this.fault('mkdir', path);
    const w = this.tree.walk(path.replace(/\/+$/, '') || '/', false, 'mkdir');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'mkdir', path);
    this.tree.writable('mkdir', path);
    const parent = top(w.dirs);
    this.tree.access(parent, W | X, 'mkdir', path);
    checkName(w.name, 'mkdir', path);
    this.tree.link(parent, w.name, this.tree.newDir((attrs.mode ?? 0o777) & ~this.umask, this.uid, this.primaryGid));
    parent.mtime = this.tree.seconds();
  }

  async rmdir(path: string): Promise<void> {
    await this.fault('rmdir', path);
    const w = this.tree.walk(path, false, 'rmdir');
    const node = this.tree.existing(w, 'rmdir', path);
    if (w.name === undefined) throw fsError(w.dirs.length === 1 ? 'EBUSY' : 'EINVAL', 'rmdir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
    this.tree.writable('rmdir', path);
    this.tree.mayRemove(top(w.dirs), node, 'rmdir', path);
    if (node.entries.size > 0) throw fsError('ENOTEMPTY', 'rmdir', path);
    this.tree.unlink(top(w.dirs), w.name);
  }

  async realpath(path: string): Promise<string> {
    await this.fault('realpath', path);
    const w = this.tree.walk(path === '' ? '.' : path, true, 'realpath');
    const names = w.name === undefined ? w.names : [...w.names, w.name];
    return '/' + names.join('/');
  }

  async rename(oldPath: string, newPath: string, posix: boolean): Promise<void> {
    await this.fault('rename', oldPath);
    const from = this.tree.walk(oldPath, false, 'rename');
    const node = this.tree.existing(from, 'rename', oldPath);
    const to = this.tree.walk(newPath, false, 'rename');
    if (from.name === undefined || to.name === undefined) throw fsError('EBUSY', 'rename', oldPath, newPath);
    this.tree.writable('rename', oldPath);
    const fromDir = top(from.dirs);
    const toDir = top(to.dirs);
    this.tree.mayRemove(fromDir, node, 'rename', oldPath);
    this.tree.access(toDir, W | X, 'rename', newPath);
    checkName(to.name, 'rename', newPath);
    const target = to.node;
    // SSH_FXP_RENAME refuses any existing target, as sftp-server's link()+unlink() does.
    if (target !== undefined && !posix) throw fsError('EEXIST', 'rename', oldPath, newPath);
    if (target === node) return; // the same file under two names: POSIX does nothing
    if (target !== undefined) {
      this.tree.mayRemove(toDir, target, 'rename', newPath);
      if (node.kind === 'dir' && target.kind !== 'dir') throw fsError('ENOTDIR', 'rename', oldPath, newPath);
      if (node.kind !== 'dir' && target.kind === 'dir') throw fsError('EISDIR', 'rename', oldPath, newPath);
      if (target.kind === 'dir' && target.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', oldPath, newPath);
    }
    if (node.kind === 'dir' && to.dirs.includes(node)) throw fsError('EINVAL', 'rename', oldPath, newPath);
    if (target !== undefined) this.tree.unlink(toDir, to.name);
    fromDir.entries.delete(from.name);
    node.nlink--;
    if (node.kind === 'dir') fromDir.nlink--;
    this.tree.link(toDir, to.name, node);
    fromDir.mtime = toDir.mtime = this.tree.seconds();
  }

  async readlink(path: string): Promise<string> {
    await this.fault('readlink', path);
    const node = this.tree.existing(this.tree.walk(path, false, 'readlink'), 'readlink', path);
    if (node.kind !== 'symlink') throw fsError('EINVAL', 'readlink', path);
    return node.target;
  }

  async symlink(targetPath: string, linkPath: string): Promise<void> {
    await this.fault('symlink', linkPath);
    const w = this.tree.walk(linkPath, false, 'symlink');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'symlink', targetPath, linkPath);
    if (targetPath === '') throw fsError('ENOENT', 'symlink', targetPath, linkPath);
    if (tooLong(targetPath, PATH_MAX)) throw fsError('ENAMETOOLONG', 'symlink', targetPath, linkPath);
    this.tree.writable('symlink', linkPath);
    const parent = top(w.dirs);
    this.tree.access(parent, W | X, 'symlink', linkPath);
    checkName(w.name, 'symlink', linkPath);
    this.tree.link(parent, w.name, this.tree.newLink(targetPath, this.uid, this.primaryGid));
    parent.mtime = this.tree.seconds();
  }

  async link(oldPath: string, newPath: string): Promise<void> {
    await this.fault('link', oldPath);
    const node = this.tree.existing(this.tree.walk(oldPath, false, 'link'), 'link', oldPath);
    if (node.kind === 'dir') throw fsError('EPERM', 'link', oldPath, newPath);
    const w = this.tree.walk(newPath, false, 'link');
    if (w.node !== undefined || w.name === undefined) throw fsError('EEXIST', 'link', oldPath, newPath);
    this.tree.writable('link', newPath);
    const parent = top(w.dirs);
    this.tree.access(parent, W | X, 'link', newPath);
    checkName(w.name, 'link', newPath);
    this.tree.link(parent, w.name, node);
    parent.mtime = this.tree.seconds();
  }

  async statvfs(path: string): Promise<Statvfs> {
    await this.fault('statvfs', path);
    this.tree.existing(this.tree.walk(path, true, 'statvfs'), 'statvfs', path);
    return this.tree.statvfs();
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
        this.tree.writable('write', path);
        this.tree.writeAt(n, mode.append ? n.size : offset, data, 'write', path);
      },
      stat: async () => {
        await this.fault('fstat', path);
        return this.tree.stats(live('fstat'));
      },
      setstat: async (attrs) => {
        await this.fault('fsetstat', path);
        const n = live('fsetstat');
        if (attrs.size !== undefined && !mode.write && !mode.append) throw fsError('EINVAL', 'ftruncate', path);
        this.tree.applyAttrs(n, attrs, 'fsetstat', path, true);
      },
      sync: async () => {
        await this.fault('fsync', path);
        live('fsync');
      },
      statvfs: async () => {
        await this.fault('fstatvfs', path);
        live('fstatvfs');
        return this.tree.statvfs();
      },
      close: async () => {
        await this.fault('close', path);
        live('close');
        open = false;
        if (node.kind === 'file') {
          node.opens--;
          this.tree.freeIfGone(node);
        }
      },
    };
  }

  private async fault(operation: MemoryFsOperation, path: string): Promise<void> {
    const hook = this.faults.onOperation;
    if (hook === undefined) return;
    const code = await hook(operation, path);
    if (code !== undefined) throw fsError(code, operation, path);
  }

  private userName(uid: number): string | undefined {
    return this.users.find((u) => u.uid === uid)?.name;
  }

  private groupName(gid: number): string | undefined {
    return this.groups.find((g) => g.gid === gid)?.name;
  }
}
