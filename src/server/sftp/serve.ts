// `serveSftp(channel, options)`: one SFTP session on a byte stream (a
// session channel's `sftp` subsystem, or stdin/stdout in nacre-sftp-server),
// in this process. It drives the sans-I/O SftpServerSession: channel data
// in, each file system operation run on the FileSystem as soon as it comes
// (many at once; the session orders one handle's writes), replies written
// as they complete, a READ's data written after its 13-byte header straight
// from the file system's buffer. Input stops while the session is at its
// cap of outstanding requests or the channel's output is backed up, so a
// client that floods requests or never reads its replies holds a bounded
// amount of memory.
import { homedir } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  SftpServerSession,
  type SftpLogLevel,
  type SftpServerSessionOptions,
} from '../../sftp/server-session.js';
import { runOperation, type ServerOperation } from '../../sftp/server-operations.js';
import type { ServerClock } from '../../sftp/server-format.js';
import type { FileSystem } from '../../sftp/filesystem.js';
import { defaultFileSystem } from './default-fs.js';
import type { ServerChannel, SessionChannel } from '../session-channel.js';

export interface ServeSftpOptions extends SftpServerSessionOptions {
  /** What is served; default a NodeFileSystem as this process's user, starting in `startDirectory`. */
  readonly fileSystem?: FileSystem;
  /** Where the default file system starts (relative paths, `pwd`); default the home directory. */
  readonly startDirectory?: string;
  /** sftp-server's log lines (see SftpLogLevel); filter by level here. Default none. */
  readonly log?: (level: SftpLogLevel, message: string) => void;
  /**
   * Which levels `log` keeps (asked once per level per session), so lines
   * it would drop are not formatted. Default: every level when `log` is
   * given, none without it.
   */
  readonly logs?: (level: SftpLogLevel) => boolean;
  /** For the `session opened for local user NAME from [ADDRESS]` lines. */
  readonly username?: string;
  readonly remoteAddress?: string;
}

/** One running SFTP session. */
export interface SftpServing {
  /** Resolves once the session is over and its handles are closed. */
  readonly done: Promise<void>;
  /** Ends the session at once: handles are closed, the channel is ended. */
  close(): void;
}

/** A DATA reply whose data is at most this long is written as one buffer (header and data joined); a longer one as two, without a copy. */
const JOIN_REPLY_BYTES = 16 * 1024;

/** The local clock: long names' dates in this process's time zone. */
export const LOCAL_CLOCK: ServerClock = {
  now: () => Math.floor(Date.now() / 1000),
  utcOffsetMinutes: (seconds) => -new Date(seconds * 1000).getTimezoneOffset(),
};

/** A session channel's `exit`, when the stream is one (ServerChannel). */
interface Exitable {
  exit?(code: number): void;
}

/**
 * Serves SFTP on `channel` until the client closes it. The returned `done`
 * settles once the session is over (never rejects).
 */
export function serveSftp(channel: Duplex, options: ServeSftpOptions): SftpServing {
  const fs = options.fileSystem ?? defaultFileSystem(options.startDirectory ?? homedir());
  const log = options.log ?? (() => undefined);
  const logs = options.logs ?? (() => options.log !== undefined);
  let inputEnded = false;
  let finished = false;
  let running = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const who = options.username === undefined ? null : `local user ${options.username} from [${options.remoteAddress ?? 'UNKNOWN'}]`;
  if (who) log('info', `session opened for ${who}`);

  const session = new SftpServerSession(
    {
      output(chunks) {
        if (channel.destroyed || channel.writableEnded) return;
        // A small DATA reply (its header and the file's buffer) as one write: one pass through the channel's stream, not two.
        if (chunks.length === 2 && chunks[1]!.length <= JOIN_REPLY_BYTES) channel.write(Buffer.concat(chunks));
        else for (const c of chunks) channel.write(c);
      },
      operation(op) {
        start(op);
      },
      log,
      logs,
      close() {
        finish(255);
      },
      outputBlocked: () => channel.writableNeedDrain,
    },
    { allocate: (size) => Buffer.allocUnsafe(size), writePieces: true, ...options, clock: options.clock ?? LOCAL_CLOCK },
  );

  const start = (op: ServerOperation): void => {
    running++;
    runOperation(fs, op).then(
      (result) => settle(() => session.complete(op, result as never)),
      (error: unknown) => settle(() => session.fail(op, error)),
    );
  };
  const settle = (hand: () => void): void => {
    running--;
    // Nothing here may throw out of the promise's callbacks: an unhandled
    // rejection would end the server's process. (A try here, not a .catch
    // on the chain: one promise and one microtask fewer per operation.)
    try {
      hand();
      flow();
    } catch (e) {
      log('error', `internal error: ${(e as Error).message}`);
      finish(255);
    }
  };

  /** Reads while the session wants input and the output is not backed up; ends once all is answered after EOF. */
  const flow = (): void => {
    if (finished) {
      if (running === 0) resolveDone();
      return;
    }
    if (inputEnded && session.outstandingRequests === 0 && !session.holdsRequest) return finish(0);
    if (session.wantsInput && !channel.writableNeedDrain) channel.resume();
    else channel.pause();
  };

  function finish(code: number): void {
    if (finished) return;
    finished = true;
    session.end();
    channel.off('data', onData);
    if (who) log('info', `session closed for ${who}`);
    if (!channel.destroyed && !channel.writableEnded) {
      const exitable = channel as Duplex & Exitable;
      if (typeof exitable.exit === 'function') exitable.exit(code);
      else channel.end();
    }
    if (running === 0) resolveDone();
  }

  const onData = (chunk: Buffer): void => {
    session.receive(chunk);
    flow();
  };
  channel.on('data', onData);
  channel.on('drain', () => {
    session.outputReady();
    flow();
  });
  channel.once('end', () => {
    inputEnded = true;
    flow();
  });
  channel.once('close', () => {
    inputEnded = true;
    finish(0);
  });
  channel.on('error', () => finish(255));

  return { done, close: () => finish(0) };
}

/**
 * A SessionChannel `onSubsystem` handler serving `sftp` (other names are
 * refused): `s.onSubsystem = sftpSubsystem({ fileSystem })`. A function
 * gets the session first, to serve each user their own file system.
 */
export function sftpSubsystem(options: ServeSftpOptions | ((session: SessionChannel) => ServeSftpOptions)): (name: string, channel: ServerChannel) => boolean {
  return (name, channel) => {
    if (name !== 'sftp') return false;
    const o = typeof options === 'function' ? options(channel.session) : options;
    serveSftp(channel, { username: channel.session.username, remoteAddress: channel.session.remoteAddress, ...o });
    return true;
  };
}
