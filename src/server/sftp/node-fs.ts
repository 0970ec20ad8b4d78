// The FileSystem an SFTP server serves from the machine's files, over
// node:fs/promises, acting as the process's user (a server running as root
// serves each user from a process of that user). Without `root` a path goes
// to the kernel as the client sent it (relative ones from the start
// directory), as sftp-server does. With `root`, every path is resolved
// inside that directory and no link can lead out (node-fs-confined.ts says
// how); paths the client sees are then relative to the root, as under
// sshd's ChrootDirectory.
import { constants, fchmod, fstatSync, open as openFd, openSync, type Stats } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readlink, realpath, rename, rmdir, stat, statfs, symlink, truncate, unlink, utimes } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { FileAttributes } from '../../sftp/attrs.js';
import type { Statvfs } from '../../sftp/extensions.js';
import type { DirectoryHandle, FileHandle, FileStats, FileSystem, OpenMode } from '../../sftp/filesystem.js';
import { fromFsName, fsPath, opendirBytes } from '../../io/node/byte-paths.js';
import { lookupUserAccount } from '../user-account.js';
import { ConfinedRoot, O_PATH, inDirectory, viaHandle, type Walked, type WalkKind } from './node-fs-confined.js';
import { clientPathErrors, fsError, toFileStats, toStatvfs } from './node-fs-convert.js';
import { NodeDirectoryHandle, NodeFileHandle, type OpenedFile } from './node-fs-handles.js';
import { INLINE } from './node-fs-inline.js';
import { AccountNames, type AccountFiles } from './node-fs-users.js';

/** Longer paths are refused, as the kernel refuses them (the confined walk would otherwise take them). */
const PATH_MAX = 4096;

export interface NodeFileSystemOptions {
  /** Where relative paths start (`.`): an absolute path, inside `root` when there is one. */
  startDirectory: string;
  /** Confine the client to this directory of the host, as sshd's ChrootDirectory does (Linux only). */
  root?: string;
  /** The session's user, whose home homeDirectory("") gives (default: the process's user). */
  user?: string;
  /** Where names of users and groups come from (default /etc/passwd and /etc/group). */
  accountFiles?: AccountFiles;
  /**
   * The umask for files and directories the client creates, in place of the
   * process's (sftp-server's `-u`): their modes are set to exactly the mode
   * asked (or 0666 / 0777) less this. Default: the process's umask applies.
   */
  umask?: number;
}

export class NodeFileSystem implements FileSystem {
  readonly startDirectory: string;
  private readonly confined: ConfinedRoot | undefined;
  private readonly accounts: AccountNames;
  private readonly user: string | undefined;
  private readonly umask: number | undefined;

  constructor(options: NodeFileSystemOptions) {
    if (!options.startDirectory.startsWith('/')) throw new RangeError(`NodeFileSystem: startDirectory must be absolute, not ${JSON.stringify(options.startDirectory)}`);
    if (options.root !== undefined) {
      if (process.platform !== 'linux') throw new RangeError('NodeFileSystem: a confining root needs Linux (/proc/self/fd)');
      if (!options.root.startsWith('/')) throw new RangeError(`NodeFileSystem: root must be absolute, not ${JSON.stringify(options.root)}`);
      this.confined = new ConfinedRoot(options.root);
    }
    this.startDirectory = options.startDirectory;
    this.user = options.user;
    if (options.umask !== undefined && !(Number.isInteger(options.umask) && options.umask >= 0 && options.umask <= 0o777)) {
      throw new RangeError(`NodeFileSystem: umask must be 0 to 0o777, not ${options.umask}`);
    }
    this.umask = options.umask;
    this.accounts = new AccountNames(options.accountFiles);
  }

  /** The path as the kernel or the confined walk takes it: relative ones from the start directory. */
  private absolute(path: string): string {
    if (path.includes('\0')) throw fsError('EINVAL', 'invalid argument', 'path', path.replaceAll('\0', '\\0'));
    if (path === '') throw fsError('ENOENT', 'no such file or directory', 'path', path);
    if (path.length > PATH_MAX) throw fsError('ENAMETOOLONG', 'name too long', 'path', path.slice(0, 64) + '...');
    if (path.startsWith('/')) return path;
    if (path === '.') return this.startDirectory;
    return `${this.startDirectory.replace(/\/+$/, '')}/${path}`;
  }

  /** Runs `use` on a confined walk of `path`, releasing what it holds after. */
  private async walked<T>(path: string, kind: WalkKind, use: (w: Walked) => Promise<T>): Promise<T> {
    const w = await this.confined!.walk(this.absolute(path), kind);
    try {
      return await use(w);
    } finally {
      await w.release();
    }
  }

  private stats(s: Stats): Promise<FileStats> {
    return toFileStats(s, this.accounts);
  }

  open(path: string, mode: OpenMode, attrs: FileAttributes): Promise<FileHandle> {
    return clientPathErrors('open', path, async () => {
      const c = constants;
      // O_NONBLOCK: a FIFO (made by a shell user) must not hang one of the
      // threads every session of this process shares, as it would hang only
      // sftp-server's own process; regular files ignore the flag. O_NOCTTY: a
      // terminal opened here never becomes the server's controlling one.
      let flags = (mode.write ? (mode.read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY) | c.O_NONBLOCK | c.O_NOCTTY;
      if (mode.append) flags |= c.O_APPEND;
      if (mode.create) flags |= c.O_CREAT;
      if (mode.truncate) flags |= c.O_TRUNC;
      if (mode.create && mode.exclusive) flags |= c.O_EXCL;
      // sftp-server's default: 0666, less the umask.
      const perm = attrs.mode === undefined ? 0o666 : attrs.mode & 0o7777;
      if (this.umask === undefined || !mode.create) {
        const fd = await this.openAs(path, flags, perm);
        return new NodeFileHandle(fd, path, this.accounts, mode.append, opened(fd));
      }
      // With a umask of our own, a file this open creates gets exactly `perm`
      // less it, whatever the process's: tried as a new file first, then as
      // an existing one (a dangling link is then not created through).
      let fd;
      let created = true;
      try {
        fd = await this.openAs(path, flags | c.O_EXCL, perm);
      } catch (err) {
        if (mode.exclusive || (err as { code?: unknown }).code !== 'EEXIST') throw err;
        created = false;
        fd = await this.openAs(path, flags & ~c.O_CREAT, perm);
      }
      const handle = new NodeFileHandle(fd, path, this.accounts, mode.append, opened(fd));
      if (created) {
        const exact = perm & ~this.umask;
        try {
          await new Promise<void>((resolve, reject) => fchmod(fd, exact, (err) => (err ? reject(err) : resolve())));
        } catch (err) {
          await handle.close();
          throw err;
        }
      }
      return handle;
    });
  }

  /** open(2) of a client path, confined when there is a root (O_EXCL: the name itself, never through a link); the descriptor. */
  private openAs(path: string, flags: number, perm: number): Promise<number> {
    const c = constants;
    if (this.confined === undefined) return openDescriptor(this.absolute(path), flags, perm);
    if ((flags & c.O_CREAT) !== 0 && (flags & c.O_EXCL) !== 0) {
      return this.walked(path, 'entry', async (w) => {
        if (w.name === undefined) throw fsError('EEXIST', 'file already exists', 'open', path);
        return openDescriptor(inDirectory(w.dir, w.name), flags | c.O_NOFOLLOW, perm);
      });
    }
    return this.walked(path, 'object', async (w) => {
      // What the walk vetted, reopened through its handle; or a new name in the vetted directory.
      if (w.target !== undefined) return openDescriptor(viaHandle(w.target), flags & ~c.O_CREAT, perm);
      return openDescriptor(inDirectory(w.dir, w.name!), flags | c.O_NOFOLLOW, perm);
    });
  }

  opendir(path: string): Promise<DirectoryHandle> {
    return clientPathErrors('opendir', path, async () => {
      if (this.confined === undefined) {
        const abs = this.absolute(path);
        const dir = await opendirBytes(fsPath(abs), 128);
        return new NodeDirectoryHandle(
          {
            dir,
            entryPath: (name) => fsPath(`${abs}/${name}`),
            dots: () => Promise.all([stat(fsPath(abs)), stat(fsPath(`${abs}/..`))]),
            release: async () => undefined,
          },
          path,
          this.accounts,
        );
      }
      const w = await this.confined.walk(this.absolute(path), 'object');
      try {
        if (w.target === undefined) throw fsError('ENOENT', 'no such file or directory', 'opendir', path);
        if (!w.stats!.isDirectory()) throw fsError('ENOTDIR', 'not a directory', 'opendir', path);
        const target = w.target;
        const dots: [Stats, Stats] = [w.stats!, await w.dir.stat()];
        const dir = await opendirBytes(viaHandle(target), 128);
        w.keepTarget();
        return new NodeDirectoryHandle(
          { dir, entryPath: (name) => fsPath(inDirectory(target, name)), dots: async () => dots, release: () => target.close() },
          path,
          this.accounts,
        );
      } finally {
        await w.release();
      }
    });
  }

  stat(path: string): Promise<FileStats> {
    return this.describe('stat', path, 'object');
  }

  lstat(path: string): Promise<FileStats> {
    return this.describe('lstat', path, 'link');
  }

  private describe(syscall: string, path: string, kind: 'object' | 'link'): Promise<FileStats> {
    return clientPathErrors(syscall, path, async () => {
      if (this.confined === undefined) return this.stats(await (kind === 'object' ? stat : lstat)(fsPath(this.absolute(path))));
      return this.walked(path, kind, async (w) => {
        if (w.stats === undefined) throw fsError('ENOENT', 'no such file or directory', syscall, path);
        return this.stats(w.stats);
      });
    });
  }

  setstat(path: string, attrs: FileAttributes, followSymlinks: boolean): Promise<void> {
    return clientPathErrors('setstat', path, async () => {
      if (this.confined === undefined) {
        const abs = fsPath(this.absolute(path));
        const link = !followSymlinks && (await lstat(abs)).isSymbolicLink();
        return applyAttrs(abs, attrs, link, !link);
      }
      // Through the walked object's handle: the link itself when not following (chmod of one is EOPNOTSUPP, as lchmod).
      await this.walked(path, followSymlinks ? 'object' : 'link', async (w) => {
        if (w.target === undefined) throw fsError('ENOENT', 'no such file or directory', 'setstat', path);
        await applyAttrs(viaHandle(w.target), attrs, w.stats!.isSymbolicLink(), true);
      });
    });
  }

  remove(path: string): Promise<void> {
    return this.onName('unlink', path, (at) => unlink(at), 'EISDIR');
  }

  mkdir(path: string, attrs: FileAttributes): Promise<void> {
    const perm = attrs.mode === undefined ? 0o777 : attrs.mode & 0o7777;
    const umask = this.umask;
    return this.onName(
      'mkdir',
      path,
      async (at) => {
        await mkdir(at, perm);
        if (umask === undefined) return;
        // Our own umask: the new directory's mode set exactly, through a
        // handle on it (confined, the name is not followed should it have
        // been swapped for a link meanwhile).
        if (this.confined === undefined) return chmod(at, perm & ~umask);
        const h = await open(at, O_PATH | constants.O_NOFOLLOW);
        try {
          if ((await h.stat()).isDirectory()) await chmod(viaHandle(h), perm & ~umask);
        } finally {
          await h.close();
        }
      },
      'EEXIST',
    );
  }

  rmdir(path: string): Promise<void> {
    return this.onName('rmdir', path, (at) => rmdir(at), 'EBUSY');
  }

  readlink(path: string): Promise<string> {
    return this.onName('readlink', path, async (at) => fromFsName(await readlink(at, { encoding: 'buffer' })), 'EINVAL');
  }

  symlink(targetPath: string, linkPath: string): Promise<void> {
    // The target is stored as given: resolved inside the root when followed, as a chrooted process resolves it.
    return this.onName('symlink', linkPath, (at) => symlink(fsPath(targetPath), at), 'EEXIST');
  }

  /**
   * An operation on a name: the absolute path, or, confined, the name in
   * its walked directory. A path that names a directory by `.`, `..` or `/`
   * fails with `whenNoName`, as the kernel answers for those.
   */
  private onName<T>(syscall: string, path: string, op: (at: string | Buffer) => Promise<T>, whenNoName: string): Promise<T> {
    return clientPathErrors(syscall, path, async () => {
      if (this.confined === undefined) return op(fsPath(this.absolute(path)));
      return this.walked(path, 'entry', async (w) => {
        if (w.name === undefined) throw fsError(whenNoName, 'not possible on this path', syscall, path);
        return op(fsPath(inDirectory(w.dir, w.name)));
      });
    });
  }

  /** An operation on two names (rename, link), each confined like onName's. */
  private onNames(syscall: string, from: string, to: string, op: (a: string | Buffer, b: string | Buffer) => Promise<void>): Promise<void> {
    return clientPathErrors(
      syscall,
      from,
      async () => {
        if (this.confined === undefined) return op(fsPath(this.absolute(from)), fsPath(this.absolute(to)));
        await this.walked(from, 'entry', (a) =>
          this.walked(to, 'entry', async (b) => {
            if (a.name === undefined || b.name === undefined) throw fsError('EBUSY', 'not possible on this path', syscall, from, to);
            await op(fsPath(inDirectory(a.dir, a.name)), fsPath(inDirectory(b.dir, b.name)));
          }),
        );
      },
      to,
    );
  }

  rename(oldPath: string, newPath: string, posix: boolean): Promise<void> {
    return this.onNames('rename', oldPath, newPath, (a, b) => (posix ? rename(a, b) : renameNoReplace(a, b)));
  }

  link(oldPath: string, newPath: string): Promise<void> {
    // link(2) does not follow a link at oldPath: it links the link itself.
    return this.onNames('link', oldPath, newPath, (a, b) => link(a, b));
  }

  realpath(path: string): Promise<string> {
    return clientPathErrors('realpath', path, async () => {
      // An empty path is the start directory here, as sftp-server has it.
      if (path === '') path = '.';
      if (this.confined !== undefined) return this.walked(path, 'object', async (w) => w.logical);
      const abs = this.absolute(path);
      try {
        return fromFsName(await realpath(fsPath(abs), { encoding: 'buffer' }));
      } catch (err) {
        // The last component may be missing, as sftp-server allows (a name about to be created).
        const cut = abs.replace(/\/+$/, '').lastIndexOf('/');
        const last = abs.replace(/\/+$/, '').slice(cut + 1);
        if ((err as { code?: unknown }).code !== 'ENOENT' || last === '' || last === '.' || last === '..') throw err;
        const parent = fromFsName(await realpath(fsPath(abs.slice(0, cut) || '/'), { encoding: 'buffer' }));
        return `${parent === '/' ? '' : parent}/${last}`;
      }
    });
  }

  statvfs(path: string): Promise<Statvfs> {
    return clientPathErrors('statvfs', path, async () => {
      if (this.confined === undefined) return toStatvfs(await statfs(fsPath(this.absolute(path))));
      return this.walked(path, 'object', async (w) => {
        if (w.target === undefined) throw fsError('ENOENT', 'no such file or directory', 'statvfs', path);
        return toStatvfs(await statfs(viaHandle(w.target)));
      });
    });
  }

  /**
   * From /etc/passwd; the session's own user also through the system's
   * account lookup (NSS), which is not offered for other names: a client
   * asking for many would start a lookup process each. Confined, the path
   * is inside the root, as under ChrootDirectory.
   */
  async homeDirectory(username: string): Promise<string> {
    const own = this.user ?? userInfo().username;
    const name = username === '' ? own : username;
    const home = await this.accounts.home(name);
    if (home !== undefined) return home;
    if (name === own) {
      try {
        return (await lookupUserAccount(name)).home;
      } catch {
        // as not found
      }
    }
    throw fsError('ENOENT', 'no such user', 'getpwnam', name);
  }

  async names(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }> {
    const users = await Promise.all(uids.map(async (u) => (await this.accounts.userName(u)) ?? ''));
    const groups = await Promise.all(gids.map(async (g) => (await this.accounts.groupName(g)) ?? ''));
    return { users, groups };
  }
}

/**
 * open(2) of a path the kernel takes as it is (not a confined walk's): inline
 * when the gate allows (node-fs-inline.ts); O_NONBLOCK keeps a FIFO from
 * blocking it.
 */
function openDescriptor(at: string, flags: number, perm: number): Promise<number> {
  if (INLINE.open) {
    try {
      return Promise.resolve(INLINE.run(() => openSync(fsPath(at), flags, perm)));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => openFd(fsPath(at), flags, perm, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/**
 * What an fstat tells of a descriptor just opened, taken only while calls
 * may run inline (then it costs a microsecond; through the pool it would
 * cost a round trip): undefined otherwise, or when it fails.
 */
function opened(fd: number): OpenedFile | undefined {
  if (!INLINE.open) return undefined;
  try {
    const st = INLINE.run(() => fstatSync(fd));
    return { regular: st.isFile(), size: st.size };
  } catch {
    return undefined;
  }
}

/**
 * SETSTAT's changes in sftp-server's order (size, mode, times, owner) on a
 * path that reaches the object. `isLink`: the object is a symbolic link
 * being changed itself (lsetstat); `follows`: the path is one the kernel
 * follows, so a link is changed with the l- calls.
 */
async function applyAttrs(at: string | Buffer, attrs: FileAttributes, isLink: boolean, follows: boolean): Promise<void> {
  const useLinkCalls = isLink && !follows;
  if (attrs.size !== undefined) {
    if (isLink) throw fsError('EINVAL', 'invalid argument', 'truncate', String(at));
    await truncate(at, attrs.size);
  }
  if (attrs.mode !== undefined) {
    if (isLink) throw fsError('EOPNOTSUPP', 'operation not supported', 'chmod', String(at));
    await chmod(at, attrs.mode & 0o7777);
  }
  if (attrs.atime !== undefined && attrs.mtime !== undefined) await (useLinkCalls ? lutimes : utimes)(at, attrs.atime, attrs.mtime);
  if (attrs.uid !== undefined && attrs.gid !== undefined) await (useLinkCalls ? lchown : chown)(at, attrs.uid, attrs.gid);
}

/**
 * SSH_FXP_RENAME, which must not replace an existing name: as sftp-server, a
 * regular file is linked to the new name then unlinked from the old (atomic
 * refusal of an existing target); where links are not possible, and for
 * anything but a regular file, an lstat then rename (racy, as sftp-server's).
 */
async function renameNoReplace(from: string | Buffer, to: string | Buffer): Promise<void> {
  const s = await lstat(from);
  if (s.isFile()) {
    try {
      await link(from, to);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      return renameIfAbsent(from, to);
    }
    try {
      await unlink(from);
    } catch (err) {
      await unlink(to).catch(() => undefined);
      throw err;
    }
    return;
  }
  return renameIfAbsent(from, to);
}

async function renameIfAbsent(from: string | Buffer, to: string | Buffer): Promise<void> {
  const present = await lstat(to).then(
    () => true,
    (err: unknown) => {
      if ((err as { code?: unknown }).code === 'ENOENT') return false;
      throw err;
    },
  );
  if (present) throw fsError('EEXIST', 'file already exists', 'rename', String(from), String(to));
  await rename(from, to);
}
