// What nacre-scp needs of an SFTP session: the part of the library's
// SftpClient it calls (so the copy logic can be driven by a fake in tests),
// and how a failure is worded, as OpenSSH's scp words it (the SFTP status
// text of its fx2txt, strerror for local files).
import type { Readable, Writable } from 'node:stream';
import { errnoCode, strerror } from '../common/exit.js';

/** A file's attributes as SFTP carries them (st_mode with its type bits). */
export interface RemoteAttrs {
  size?: number;
  mode?: number;
  atime?: number;
  mtime?: number;
}

export interface RemoteTransferOptions {
  recursive?: boolean;
  preserve?: boolean;
  concurrency?: number;
  chunkSize?: number;
  /** Bits per second. */
  bandwidthLimit?: number;
  followSymlinks?: boolean;
  /** A failed get (or an interrupted put) leaves its partial file under its own name, as scp does. */
  keepPartial?: boolean;
  signal?: AbortSignal;
  parallelFiles?: number;
  onProgress?: (p: { path?: string; transferred: number }) => void;
  onFile?: (path: string, size: number) => void;
  onSkip?: (path: string, reason: string) => void;
}

/** The calls of the SFTP client nacre-scp makes (a subset of the library's SftpClient). */
export interface RemoteFs {
  readonly extensions: ReadonlyMap<string, string>;
  stat(path: string): Promise<RemoteAttrs>;
  setstat(path: string, attrs: RemoteAttrs): Promise<void>;
  list(path: string): Promise<{ filename: string; attrs: RemoteAttrs }[]>;
  mkdir(path: string, attrs?: RemoteAttrs): Promise<void>;
  expandPath(path: string): Promise<string>;
  createReadStream(path: string, options?: { concurrency?: number; chunkSize?: number }): Readable;
  createWriteStream(path: string, options?: { flags?: 'w'; mode?: number; concurrency?: number; chunkSize?: number }): Writable;
  get(remotePath: string, localPath: string, options?: RemoteTransferOptions): Promise<void>;
  put(localPath: string, remotePath: string, options?: RemoteTransferOptions): Promise<void>;
  end(): Promise<void>;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export function isDirectoryMode(mode: number | undefined): boolean {
  return mode !== undefined && (mode & S_IFMT) === S_IFDIR;
}

export function isRegularMode(mode: number | undefined): boolean {
  return mode !== undefined && (mode & S_IFMT) === S_IFREG;
}

/** sftp_remote_is_dir: stat (following links) says directory; any failure says no. */
export async function remoteIsDirectory(sftp: RemoteFs, path: string): Promise<boolean> {
  try {
    return isDirectoryMode((await sftp.stat(path)).mode);
  } catch {
    return false;
  }
}

/** OpenSSH's fx2txt: the words for each SFTP status code. */
const FX_TEXT: Readonly<Record<number, string>> = {
  0: 'No error',
  1: 'End of file',
  2: 'No such file or directory',
  3: 'Permission denied',
  4: 'Failure',
  5: 'Bad message',
  6: 'No connection',
  7: 'Connection lost',
  8: 'Operation unsupported',
};

interface SftpErrorLike {
  name: string;
  code: number;
  operation: string;
  path?: string;
  serverMessage: string;
  message: string;
}

function isSftpError(err: unknown): err is SftpErrorLike {
  return err instanceof Error && err.name === 'SftpError' && typeof (err as { code?: unknown }).code === 'number';
}

/** The status text of an SFTP failure (fx2txt), or strerror for a local one. */
export function failureText(err: unknown): string {
  if (isSftpError(err)) return FX_TEXT[err.code] ?? (err.serverMessage || err.message);
  return strerror(err);
}

/** Whether an SFTP failure says the path does not exist. */
export function isNotFound(err: unknown): boolean {
  return isSftpError(err) ? err.code === 2 : errnoCode(err) === 'ENOENT';
}

/**
 * A failed transfer's message without "scp: ": the library's operation and
 * path with the status in OpenSSH's words, or for a local file its path and
 * strerror.
 */
export function describeFailure(err: unknown): string {
  if (isSftpError(err)) return `${err.operation}${err.path !== undefined ? ` "${err.path}"` : ''}: ${failureText(err)}`;
  const path = (err as { path?: unknown }).path;
  if (errnoCode(err) && typeof path === 'string') return `local "${path}": ${strerror(err)}`;
  return strerror(err);
}

/** Errors of opening a local file, as against writing to it. */
const OPEN_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EROFS', 'ELOOP', 'ENAMETOOLONG']);

/**
 * A failed download of one file in scp's words: a local failure names the
 * destination the user gave (not the temporary name the library writes to
 * first), `open local` or `write local` as sftp-client says it.
 */
export function describeDownloadFailure(err: unknown, destination: string): string {
  const code = errnoCode(err);
  if (code === undefined || (err instanceof Error && err.name === 'SftpError')) return describeFailure(err);
  return `${OPEN_ERRORS.has(code) ? 'open' : 'write'} local "${destination}": ${strerror(err)}`;
}

/**
 * A failed upload of one file in scp's words: the server refusing the
 * destination (no such directory, permission) is `dest open`, any other
 * status `write remote`, both naming the destination.
 */
export function describeUploadFailure(err: unknown, destination: string): string {
  if (!(err instanceof Error && err.name === 'SftpError')) return describeFailure(err);
  const code = (err as Error & { code: number }).code;
  return `${code === 2 || code === 3 ? 'dest open' : 'write remote'} "${destination}": ${failureText(err)}`;
}
