// The file system work an SFTP server session asks its driver to do: one
// `ServerOperation` per request that needs the file system, each with the
// type of the result the driver hands back (`complete`) or an Error whose
// `code` is an errno name (`fail`). `runOperation` does any of them on a
// FileSystem, so a driver is a loop: take an operation, run it, hand back.
import type { FileAttributes } from './attrs.js';
import type { Statvfs } from './extensions.js';
import type { DirectoryEntry, DirectoryHandle, FileHandle, FileStats, FileSystem, OpenMode } from './filesystem.js';

interface OperationMap {
  open: { args: { path: string; mode: OpenMode; attrs: FileAttributes }; result: FileHandle };
  opendir: { args: { path: string }; result: DirectoryHandle };
  /** Closes a handle; `file` tells which kind. */
  close: { args: { target: FileHandle | DirectoryHandle; file: boolean }; result: void };
  read: { args: { file: FileHandle; offset: number; length: number }; result: Uint8Array };
  /** `data` a list of pieces (in order) only from a session with the `writePieces` option. */
  write: { args: { file: FileHandle; offset: number; data: Uint8Array | readonly Uint8Array[] }; result: void };
  readdir: { args: { dir: DirectoryHandle }; result: DirectoryEntry[] | null };
  stat: { args: { path: string }; result: FileStats };
  lstat: { args: { path: string }; result: FileStats };
  fstat: { args: { file: FileHandle }; result: FileStats };
  setstat: { args: { path: string; attrs: FileAttributes; followSymlinks: boolean }; result: void };
  fsetstat: { args: { file: FileHandle; attrs: FileAttributes }; result: void };
  remove: { args: { path: string }; result: void };
  mkdir: { args: { path: string; attrs: FileAttributes }; result: void };
  rmdir: { args: { path: string }; result: void };
  realpath: { args: { path: string }; result: string };
  rename: { args: { oldPath: string; newPath: string; posix: boolean }; result: void };
  readlink: { args: { path: string }; result: string };
  symlink: { args: { targetPath: string; linkPath: string }; result: void };
  hardlink: { args: { oldPath: string; newPath: string }; result: void };
  statvfs: { args: { path: string }; result: Statvfs };
  fstatvfs: { args: { file: FileHandle }; result: Statvfs };
  fsync: { args: { file: FileHandle }; result: void };
  /** expand-path@openssh.com: `~` and `~user` expanded, then realpath. */
  'expand-path': { args: { path: string }; result: string };
  /** copy-data: `length` 0 copies to the end of the source. */
  'copy-data': { args: { from: FileHandle; readOffset: number; length: number; to: FileHandle; writeOffset: number }; result: void };
  'home-directory': { args: { username: string }; result: string };
  'users-groups': { args: { uids: readonly number[]; gids: readonly number[] }; result: { users: string[]; groups: string[] } };
}

export type OperationKind = keyof OperationMap;

/** One piece of file system work; `id` is the request's (-1: the session's own, no reply). */
export type ServerOperation = { [K in OperationKind]: { readonly kind: K; readonly id: number } & Readonly<OperationMap[K]['args']> }[OperationKind];
export type OperationOf<K extends OperationKind> = Extract<ServerOperation, { kind: K }>;
export type OperationResult<O extends ServerOperation> = OperationMap[O['kind']]['result'];

/** Bytes copy-data moves per read. */
const COPY_CHUNK = 256 * 1024;

/**
 * Does `op` on `fs`; resolves its result or rejects with the file system's
 * error (a method that throws rejects too). The file system's own promise is
 * handed on, not wrapped: no promises of its own per operation.
 */
export function runOperation<O extends ServerOperation>(fs: FileSystem, op: O): Promise<OperationResult<O>> {
  try {
    return Promise.resolve(run(fs, op)) as Promise<OperationResult<O>>;
  } catch (e) {
    return Promise.reject(e);
  }
}

function run(fs: FileSystem, op: ServerOperation): Promise<unknown> {
  switch (op.kind) {
    case 'open':
      return fs.open(op.path, op.mode, op.attrs);
    case 'opendir':
      return fs.opendir(op.path);
    case 'close':
      return op.target.close();
    case 'read':
      return op.file.read(op.offset, op.length);
    case 'write':
      return write(op.file, op.offset, op.data);
    case 'readdir':
      return op.dir.read();
    case 'stat':
      return fs.stat(op.path);
    case 'lstat':
      return fs.lstat(op.path);
    case 'fstat':
      return op.file.stat();
    case 'setstat':
      return fs.setstat(op.path, op.attrs, op.followSymlinks);
    case 'fsetstat':
      return op.file.setstat(op.attrs);
    case 'remove':
      return fs.remove(op.path);
    case 'mkdir':
      return fs.mkdir(op.path, op.attrs);
    case 'rmdir':
      return fs.rmdir(op.path);
    case 'realpath':
      return fs.realpath(op.path);
    case 'rename':
      return fs.rename(op.oldPath, op.newPath, op.posix);
    case 'readlink':
      return fs.readlink(op.path);
    case 'symlink':
      return fs.symlink(op.targetPath, op.linkPath);
    case 'hardlink':
      return fs.link(op.oldPath, op.newPath);
    case 'statvfs':
      return fs.statvfs(op.path);
    case 'fstatvfs':
      return op.file.statvfs();
    case 'fsync':
      return op.file.sync();
    case 'expand-path':
      return expandPath(fs, op.path);
    case 'copy-data':
      return copyData(op);
    case 'home-directory':
      return fs.homeDirectory(op.username);
    case 'users-groups':
      return fs.names(op.uids, op.gids);
  }
}

/** A WRITE's data, in pieces through the handle's `writev` when it has one, else joined. */
function write(file: FileHandle, offset: number, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  if (!Array.isArray(data)) return file.write(offset, data as Uint8Array);
  const pieces = data as readonly Uint8Array[];
  if (pieces.length === 1) return file.write(offset, pieces[0]!);
  if (file.writev) return file.writev(offset, pieces);
  let n = 0;
  for (const p of pieces) n += p.length;
  const whole = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    whole.set(p, at);
    at += p.length;
  }
  return file.write(offset, whole);
}

/** sftp-server's expand-path: `~` is the user's home, `~name/` another's, then realpath. */
async function expandPath(fs: FileSystem, path: string): Promise<string> {
  let p = path === '' ? '.' : path;
  if (p === '~' || p.startsWith('~/')) {
    p = (await fs.homeDirectory('')) + p.slice(1);
  } else if (p.startsWith('~')) {
    const slash = p.indexOf('/');
    const user = slash < 0 ? p.slice(1) : p.slice(1, slash);
    p = (await fs.homeDirectory(user)) + (slash < 0 ? '' : p.slice(slash));
  }
  return fs.realpath(p);
}

/** copy-data: reads and writes in chunks until `length` bytes (or the end when 0) are copied. */
async function copyData(op: OperationOf<'copy-data'>): Promise<void> {
  let read = op.readOffset;
  let write = op.writeOffset;
  let left = op.length === 0 ? Infinity : op.length;
  while (left > 0) {
    const chunk = await op.from.read(read, Math.min(COPY_CHUNK, left));
    if (chunk.length === 0) break;
    await op.to.write(write, chunk);
    read += chunk.length;
    write += chunk.length;
    left -= chunk.length;
  }
}
