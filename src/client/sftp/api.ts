// What `await client.sftp()` returns, as an interface: the promise methods
// of SFTP v3 and its OpenSSH extensions, streams, and whole-file and
// whole-tree transfers. Implemented in this folder; the tools
// (nacre-sftp, nacre-scp) use only this.
import type { Readable, Writable } from 'node:stream';
import type { FileAttributes } from '../../sftp/attrs.js';
import type { SftpLimits, Statvfs } from '../../sftp/extensions.js';

/** An open remote file or directory: the server's handle. */
export interface SftpHandle {
  readonly handle: Uint8Array;
  readonly path: string;
}

/** One entry of a remote directory. */
export interface SftpEntry {
  filename: string;
  /** The server's `ls -l` line for it. */
  longname: string;
  attrs: FileAttributes;
}

/** `open`'s flags, as node:fs spells them: 'r', 'r+', 'w', 'wx', 'w+', 'a', 'ax', 'a+'. */
export type SftpOpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'w+' | 'wx+' | 'a' | 'ax' | 'a+' | 'ax+';

export interface TransferProgress {
  /** The file being transferred (remote path for get, local for put). */
  path: string;
  /** Bytes of this file done so far, and its size. */
  transferred: number;
  size: number;
  /** Across a recursive transfer: bytes done and files done so far. */
  totalTransferred: number;
  filesDone: number;
}

export interface TransferOptions {
  /** Directories and their contents (sftp's -r). */
  recursive?: boolean;
  /** Keep modes and access/modification times (sftp's -p). */
  preserve?: boolean;
  /**
   * Continue a partial transfer (sftp's reget/reput, -a): the destination's
   * existing bytes are kept and the rest appended, after checking the
   * destination is not longer than the source. The destination is written in
   * place; without `resume` it is written to a temporary name and renamed
   * into place when complete.
   */
  resume?: boolean;
  /**
   * When a get or put fails or is aborted, leave what arrived under the
   * destination's own name (as OpenSSH's sftp and scp do, so that a `resume`
   * transfer can continue it), instead of removing it. Only when nothing was
   * at the destination before: an existing file is never replaced by a
   * partial one. A get keeps what it wrote after any failure (its file is
   * written in order, always a prefix of the source); a put only after an
   * abort through `signal` (after a failed WRITE the remote file may have a
   * hole, and a lost connection cannot rename). Default false: a failed
   * transfer leaves nothing behind.
   */
  keepPartial?: boolean;
  /** Requests in flight per file (sftp's -R); default from the server's limits. */
  concurrency?: number;
  /** Bytes per READ/WRITE request (sftp's -B); default from limits@openssh.com, at most 255 KiB. */
  chunkSize?: number;
  /**
   * Files of a recursive transfer under way at once (default 16; 1 for one
   * after another, as sftp does). Their onFile and onProgress calls interleave.
   */
  parallelFiles?: number;
  /** Bandwidth limit in bits per second (sftp's -l is Kbit/s). */
  bandwidthLimit?: number;
  /** Follow symbolic links in a recursive transfer (sftp's -L on put). */
  followSymlinks?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** Called when a file of a transfer starts (for a progress bar per file). */
  onFile?: (path: string, size: number) => void;
  /**
   * Called for what a recursive transfer leaves out, as sftp does with a
   * notice: symbolic links (unless `followSymlinks`), devices, sockets.
   */
  onSkip?: (path: string, reason: string) => void;
}

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive, as fs.createReadStream. */
  end?: number;
  /** Requests in flight. */
  concurrency?: number;
  chunkSize?: number;
  highWaterMark?: number;
}

export interface WriteStreamOptions {
  flags?: SftpOpenFlags;
  mode?: number;
  start?: number;
  concurrency?: number;
  chunkSize?: number;
}

export interface SftpClient {
  /** The server's protocol version (3) and the extensions it announced, with their data. */
  readonly version: number;
  readonly extensions: ReadonlyMap<string, string>;
  /** limits@openssh.com's answer when offered, else sftp-server's defaults. */
  readonly limits: SftpLimits;

  open(path: string, flags?: SftpOpenFlags, attrs?: FileAttributes): Promise<SftpHandle>;
  close(handle: SftpHandle): Promise<void>;
  /** Up to `length` bytes at `position`; fewer at the end; an empty array at or past EOF. */
  read(handle: SftpHandle, position: number, length: number): Promise<Uint8Array>;
  write(handle: SftpHandle, position: number, data: Uint8Array): Promise<void>;
  fstat(handle: SftpHandle): Promise<FileAttributes>;
  fsetstat(handle: SftpHandle, attrs: FileAttributes): Promise<void>;
  fsync(handle: SftpHandle): Promise<void>;
  opendir(path: string): Promise<SftpHandle>;
  /** The next batch of entries, or null at the end of the directory. */
  readdir(handle: SftpHandle): Promise<SftpEntry[] | null>;
  /** A whole directory's entries (without `.` and `..`). */
  list(path: string): Promise<SftpEntry[]>;
  stat(path: string): Promise<FileAttributes>;
  lstat(path: string): Promise<FileAttributes>;
  setstat(path: string, attrs: FileAttributes): Promise<void>;
  /** lsetstat@openssh.com when offered. */
  lsetstat(path: string, attrs: FileAttributes): Promise<void>;
  exists(path: string): Promise<boolean>;
  mkdir(path: string, attrs?: FileAttributes): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** posix-rename@openssh.com when offered (replaces the target), else RENAME. */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** Creates `linkPath` pointing at `targetPath` (ln -s target link), whatever order the wire uses. */
  symlink(targetPath: string, linkPath: string): Promise<void>;
  readlink(path: string): Promise<string>;
  realpath(path: string): Promise<string>;
  /** expand-path@openssh.com (`~`, `~user`) when offered, else realpath. */
  expandPath(path: string): Promise<string>;
  hardlink(oldPath: string, newPath: string): Promise<void>;
  statvfs(path: string): Promise<Statvfs>;
  /** copy-data: a server-side copy between two open handles. */
  copyData(from: SftpHandle, fromOffset: number, length: number, to: SftpHandle, toOffset: number): Promise<void>;
  homeDirectory(username?: string): Promise<string>;
  /** users-groups-by-id@openssh.com. */
  namesById(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }>;

  createReadStream(path: string, options?: ReadStreamOptions): Readable;
  createWriteStream(path: string, options?: WriteStreamOptions): Writable;
  /** Downloads a file (or a tree with `recursive`) to a local path. */
  get(remotePath: string, localPath: string, options?: TransferOptions): Promise<void>;
  /** Uploads a local file (or tree) to a remote path. */
  put(localPath: string, remotePath: string, options?: TransferOptions): Promise<void>;

  /** Ends the SFTP session (closes the channel); the connection stays open. */
  end(): Promise<void>;
}
