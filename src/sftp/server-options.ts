// What an SFTP server session is configured with and where its output goes:
// the options (sftp-server's flags and the caps), the sink a driver
// implements, and the default caps. The machine is server-session.ts.
import type { ServerOperation } from './server-operations.js';
import type { ServerClock } from './server-format.js';

/** sftp-server's levels for its log lines (`-l`). */
export type SftpLogLevel = 'error' | 'info' | 'verbose' | 'debug';

export interface SftpServerSessionOptions {
  /** -R: requests that change the file system are refused (PERMISSION_DENIED). */
  readonly readOnly?: boolean;
  /** -p: only these requests are served (names as `sftp-server -Q requests` lists them). */
  readonly allowRequests?: string | readonly string[] | null;
  /** -P: these requests are refused. */
  readonly denyRequests?: string | readonly string[] | null;
  /** -u: cleared from the mode of every file and directory created. */
  readonly umask?: number | null;
  /** Handles open at once (files and directories); more OPEN/OPENDIR fail. Default 512. */
  readonly maxHandles?: number;
  /** Requests waiting for their reply; beyond it no more input is read. Default 128. */
  readonly maxOutstanding?: number;
  /**
   * Bytes the requests waiting for replies may hold (WRITE data, READ
   * lengths); beyond it no more input is read either. Default 16 MiB.
   */
  readonly maxOutstandingBytes?: number;
  /** Now and the time zone, for long names' dates; default UTC with years shown. */
  readonly clock?: ServerClock;
  /**
   * Where a request that spans channel chunks is gathered (a 32 KiB WRITE
   * always does); default a zero-filled Uint8Array. serveSftp passes
   * Buffer.allocUnsafe: every byte is copied in before anyone reads it.
   */
  readonly allocate?: (size: number) => Uint8Array;
  /**
   * A WRITE that spans channel chunks is handed to the driver as the list
   * of its pieces (the `write` operation's `data` a list of views of the
   * channel's chunks, in order) instead of being joined into one buffer
   * first: runOperation writes them with the file handle's `writev` when it
   * has one. Default false (`data` is always one buffer); serveSftp sets it.
   */
  readonly writePieces?: boolean;
}

/** Where the session's output goes (the driver implements it). */
export interface SftpServerSink {
  /** Bytes for the channel, in order (a DATA reply is its header then the file's own buffer). */
  output(chunks: Uint8Array[]): void;
  /** File system work to do; hand the result back with complete() or fail(). */
  operation(op: ServerOperation): void;
  log(level: SftpLogLevel, message: string): void;
  /**
   * Whether lines of `level` are kept; asked once per level when the
   * session is made. Default yes. The session does not format the lines
   * nobody keeps (an OPEN's or CLOSE's line costs more than the request's
   * own decoding).
   */
  logs?(level: SftpLogLevel): boolean;
  /** The session is over: the client broke the protocol (error) or it was ended. Close the channel. */
  close(error: Error | null): void;
  /**
   * True while the channel's output is backed up (the client is not reading
   * its replies): no new request is taken, even one already received, until
   * the driver calls outputReady(). Without it only the caps of outstanding
   * requests bound the output.
   */
  outputBlocked?(): boolean;
}

export const DEFAULT_MAX_HANDLES = 512;
export const DEFAULT_MAX_OUTSTANDING = 128;
export const DEFAULT_MAX_OUTSTANDING_BYTES = 16 * 1024 * 1024;
