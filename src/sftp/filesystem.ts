// The file system an SFTP server serves, as an interface: the server's
// state machine turns requests into these calls and their results (or
// errors) into replies. Nacre has two: the Node one (src/server/sftp), which
// can be confined to a root directory, and an in-memory one (memory-fs.ts).
// Implementations reject with an Error whose `code` is an errno name
// (`ENOENT`, `EACCES`, `EEXIST`, `ENOSPC`, ...), as node:fs does; the server
// maps it to a STATUS as sftp-server does (ENOENT -> NO_SUCH_FILE, EACCES and
// EPERM -> PERMISSION_DENIED, anything else -> FAILURE with the message).
//
// Paths and names are strings that may carry bytes that are not UTF-8: SFTP
// paths are bytes, and the codec decodes them with src/wire/path-bytes.ts, each byte
// outside well-formed UTF-8 as a lone surrogate U+DC80..U+DCFF. An
// implementation hands names back the same way (a listed name must reach its
// file when sent back), and turns paths into bytes with pathToBytes() where it
// needs them (NodeFileSystem gives node:fs a Buffer for such a path); one
// that only stores strings (MemoryFileSystem) needs to do nothing.
import type { FileAttributes } from './attrs.js';
import type { Statvfs } from './extensions.js';

/** A file's attributes with everything a listing needs. */
export interface FileStats {
  size: number;
  uid: number;
  gid: number;
  /** st_mode, type and permission bits. */
  mode: number;
  /** Seconds since the epoch. */
  atime: number;
  mtime: number;
  nlink?: number;
  /** Owner and group names, for `ls -l`'s long name; the ids are shown when absent. */
  owner?: string;
  group?: string;
}

export interface DirectoryEntry {
  name: string;
  /** lstat of the entry (a symbolic link is described, not followed). */
  stats: FileStats;
}

/** OPEN's flags, decoded. */
export interface OpenMode {
  read: boolean;
  write: boolean;
  append: boolean;
  create: boolean;
  truncate: boolean;
  /** Fail if the file exists (with `create`). */
  exclusive: boolean;
}

export interface FileHandle {
  /**
   * Up to `length` bytes at `offset`; fewer only at the end of the file, and
   * an empty array at or past the end. The end may be the one the handle
   * last saw (NodeFileSystem sizes reads by it): bytes another process
   * appended since come with the next read, as with one read(2) of
   * sftp-server's.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Writes all of `data` at `offset` (at the end when the file was opened to append). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /**
   * Optional: writes the pieces, one after another, at `offset`, as
   * write() would their concatenation (a server hands a WRITE that came in
   * several channel chunks this way, so it is not copied into one buffer).
   */
  writev?(offset: number, pieces: readonly Uint8Array[]): Promise<void>;
  stat(): Promise<FileStats>;
  setstat(attrs: FileAttributes): Promise<void>;
  sync(): Promise<void>;
  statvfs(): Promise<Statvfs>;
  close(): Promise<void>;
}

export interface DirectoryHandle {
  /** The next batch of entries (`.` and `..` included, as readdir(3) gives them), or null at the end. */
  read(): Promise<DirectoryEntry[] | null>;
  close(): Promise<void>;
}

/**
 * Paths are given as the client sent them; a relative path is relative to
 * the file system's working directory (the session's start directory).
 */
export interface FileSystem {
  open(path: string, mode: OpenMode, attrs: FileAttributes): Promise<FileHandle>;
  opendir(path: string): Promise<DirectoryHandle>;
  stat(path: string): Promise<FileStats>;
  lstat(path: string): Promise<FileStats>;
  /** `followSymlinks: false` is lsetstat@openssh.com. */
  setstat(path: string, attrs: FileAttributes, followSymlinks: boolean): Promise<void>;
  remove(path: string): Promise<void>;
  mkdir(path: string, attrs: FileAttributes): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** The canonical absolute path (symbolic links resolved); `.` is the working directory. The last component need not exist, as sftp-server allows. */
  realpath(path: string): Promise<string>;
  /** `posix: true` replaces an existing target (posix-rename@openssh.com); false refuses one, as SSH_FXP_RENAME does. */
  rename(oldPath: string, newPath: string, posix: boolean): Promise<void>;
  readlink(path: string): Promise<string>;
  symlink(targetPath: string, linkPath: string): Promise<void>;
  link(oldPath: string, newPath: string): Promise<void>;
  statvfs(path: string): Promise<Statvfs>;
  /** A user's home directory (home-directory, and `~` in expand-path@openssh.com); "" is the session's user. */
  homeDirectory(username: string): Promise<string>;
  /** Names of uids and gids, "" when unknown (users-groups-by-id@openssh.com). */
  names(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }>;
}
