// What streams, transfers and tree walks use of the client: the public
// methods plus the uncopied READ/WRITE calls. An interface of its own, so
// those modules do not import the client class that imports them.
import type { SftpClient, SftpHandle } from './api.js';
import type { FileAttributes } from '../../sftp/attrs.js';

/** A READ's answer: the data's pieces (not to be modified; none at EOF) and their total length, or null and the error. */
export type ReadDone = (pieces: readonly Uint8Array[] | null, length: number, err?: Error) => void;

export interface SftpOps extends Pick<SftpClient, 'open' | 'close' | 'fstat' | 'fsetstat' | 'stat' | 'lstat' | 'setstat' | 'list' | 'mkdir' | 'unlink' | 'rename' | 'exists'> {
  /** READ: `done` gets the reply's data as pieces of received chunks (none at EOF) and their total, or an error. */
  readInto(handle: SftpHandle, offset: number, length: number, done: ReadDone): void;
  /** WRITE of `data` as it is; `done` gets the server's answer. */
  writeFrom(handle: SftpHandle, offset: number, data: Uint8Array, done: (err?: Error) => void): void;
  /** Calls `fn` once everything sent so far is on the channel (buffers may then be reused). */
  afterSent(fn: () => void): void;
  /**
   * LSTAT (or STAT with `follow`) answering a STATUS with its code instead of
   * an SftpError: put's look at each destination, where "no such file" is
   * the common answer, then costs no error object (and stack trace) per file.
   */
  probe(path: string, follow: boolean): Promise<FileAttributes | number>;
  /** OPEN with FXF flags as they are. */
  openWith(path: string, pflags: number, attrs?: FileAttributes): Promise<SftpHandle>;
  /** Whether the server announced extension `name`. */
  has(name: string): boolean;
  /** The plain RENAME, which (as OpenSSH's sftp-server does it, a link then an unlink) refuses an existing target. */
  renameNoReplace(oldPath: string, newPath: string): Promise<void>;
  /** The longest READ and WRITE to send. */
  readonly maxRead: number;
  readonly maxWrite: number;
}
