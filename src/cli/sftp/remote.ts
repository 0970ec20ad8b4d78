// The part of the SFTP client (src/client/sftp/api.ts's SftpClient) the
// sftp tool uses, as a structural interface so the commands run against a
// fake in unit tests; and sftp's words for an SFTP status (fx2txt) and for
// paths (make_absolute, path_append, path_strip, basename).
import type { DfFigures, LsAttrs } from './ls-format.js';

export interface RemoteAttrs extends LsAttrs {
  atime?: number;
}

export interface RemoteEntry {
  filename: string;
  longname: string;
  attrs: RemoteAttrs;
}

export interface RemoteHandle {
  readonly handle: Uint8Array;
  readonly path: string;
}

/** sftp's transfers, as the library's TransferOptions has them. */
export interface RemoteTransferOptions {
  recursive?: boolean;
  preserve?: boolean;
  resume?: boolean;
  /** A failed get (or an interrupted put) leaves its partial file under its own name, as sftp does (for reget/reput). */
  keepPartial?: boolean;
  concurrency?: number;
  chunkSize?: number;
  /** Files of a tree moved at once (the library's default is several). */
  parallelFiles?: number;
  bandwidthLimit?: number;
  signal?: AbortSignal;
  onProgress?: (p: { path: string; transferred: number; size: number }) => void;
  onFile?: (path: string, size: number) => void;
}

/** statvfs@openssh.com's figures, as df shows them. */
export type RemoteStatvfs = DfFigures;

export interface RemoteFs {
  readonly version: number;
  readonly extensions: ReadonlyMap<string, string>;
  open(path: string, flags: 'r' | 'r+' | 'w', attrs?: RemoteAttrs): Promise<RemoteHandle>;
  /** fsync@openssh.com. */
  fsync(handle: RemoteHandle): Promise<void>;
  /** copy-data: `length` 0 copies to the end of the source. */
  copyData(from: RemoteHandle, fromOffset: number, length: number, to: RemoteHandle, toOffset: number): Promise<void>;
  opendir(path: string): Promise<RemoteHandle>;
  readdir(handle: RemoteHandle): Promise<RemoteEntry[] | null>;
  close(handle: RemoteHandle): Promise<void>;
  stat(path: string): Promise<RemoteAttrs>;
  lstat(path: string): Promise<RemoteAttrs>;
  setstat(path: string, attrs: RemoteAttrs): Promise<void>;
  lsetstat(path: string, attrs: RemoteAttrs): Promise<void>;
  mkdir(path: string, attrs?: RemoteAttrs): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  symlink(targetPath: string, linkPath: string): Promise<void>;
  hardlink(oldPath: string, newPath: string): Promise<void>;
  realpath(path: string): Promise<string>;
  statvfs(path: string): Promise<RemoteStatvfs>;
  namesById(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }>;
  get(remotePath: string, localPath: string, options?: RemoteTransferOptions): Promise<void>;
  put(localPath: string, remotePath: string, options?: RemoteTransferOptions): Promise<void>;
}

/** The SFTP status of an error from the client (SftpError's code), or undefined for other errors. */
export function sftpStatus(err: unknown): number | undefined {
  const e = err as { name?: unknown; code?: unknown } | null;
  if (e && typeof e === 'object' && typeof e.code === 'number' && e.name === 'SftpError') return e.code;
  return undefined;
}

const FX_TEXT: readonly string[] = [
  'No error',
  'End of file',
  'No such file or directory',
  'Permission denied',
  'Failure',
  'Bad message',
  'No connection',
  'Connection lost',
  'Operation unsupported',
];

/** fx2txt(): sftp's words for a status (not the server's message). */
export function fxText(code: number): string {
  return FX_TEXT[code] ?? 'Unknown status';
}

/** What sftp says after its own prefix for a failed request: the status's words, else the error's message. */
export function remoteReason(err: unknown): string {
  const code = sftpStatus(err);
  if (code !== undefined) return fxText(code);
  return err instanceof Error ? err.message : String(err);
}

/** path_append(): `a/b`, without doubling a slash. */
export function pathAppend(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** sftp_make_absolute(): a relative path under `pwd`. */
export function makeAbsolute(path: string, pwd: string): string {
  if (path.startsWith('/')) return path;
  return pathAppend(pwd, path);
}

/** path_strip(): `path` without a leading `strip` (the working directory) and the slash after it. */
export function pathStrip(path: string, strip: string | undefined): string {
  if (!strip) return path;
  if (!path.startsWith(strip)) return path;
  let len = strip.length;
  if (!strip.endsWith('/') && path[len] === '/') len++;
  return path.slice(len);
}

/** basename(3): the last component, trailing slashes ignored; `/` for the root. */
export function baseName(path: string): string {
  if (path === '') return '.';
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
