// The last output of a program on a terminal, read before the terminal closes.
//
// node-pty reads the master side through a libuv stream, and libuv takes a
// hang-up (POLLHUP: the program closed the slave side) after a short read as
// end of file without reading again. On a busy machine the program's last
// writes are often still on their way to the master when that happens (the
// kernel moves them across in a worker), so its final line was lost: `ls` on
// a terminal sometimes arrived as "total 0" alone. node-pty also closes the
// master when a program's output is not read within 200 ms of its exit (a
// client whose window stays shut). Both end in the stream's destroy(), with
// the descriptor still open; reading it there, until the kernel says EIO
// (empty, and the slave closed) or EAGAIN, gets what is left, as sshd's own
// reads until EIO do.
import { fstatSync, readFileSync, readSync } from 'node:fs';

/** At most this much is read at close (a background program may keep writing). */
const DRAIN_LIMIT = 1024 * 1024;

/** The stream over node-pty's master side, as much of it as this file needs. */
interface MasterStream {
  destroy(error?: Error): unknown;
  /** Bytes the stream read but has not emitted yet (held while paused). */
  readonly readableLength?: number;
  readonly destroyed?: boolean;
  /** Hands out (as 'data', to node-pty's listener) what the stream holds. */
  read?(): unknown;
}

/**
 * Reads what the terminal `fd` still holds (non-blocking, as libuv left it),
 * up to `limit` bytes. Stops at EIO, EAGAIN, end of file or any other error.
 */
export function readRemaining(fd: number, limit = DRAIN_LIMIT): Buffer[] {
  const pieces: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  while (total < limit) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, Math.min(buffer.length, limit - total), null);
    } catch {
      break;
    }
    if (n <= 0) break;
    pieces.push(Buffer.from(buffer.subarray(0, n)));
    total += n;
  }
  return pieces;
}

/**
 * Makes node-pty's terminal `term` hand its remaining output to `deliver`
 * before its master side closes. Needs node-pty's UnixTerminal internals (its
 * `_socket` and `fd`); returns false, changing nothing, when they are not there.
 *
 * What the stream itself still holds goes first, as the 'data' it would
 * have been: a terminal paused for a slow client holds a chunk there, which
 * destroy() would drop, leaving a hole before the bytes read from the
 * descriptor. The stream is destroyed whatever `deliver` does. The
 * descriptor is read only while it is still a terminal (`isTerminal`): were
 * node-pty ever to close it before destroying the stream, its number could
 * be another file's by then, and that file's bytes would go to the client.
 */
export function drainBeforeClose(term: object, deliver: (bytes: Buffer) => void, isTerminal?: (fd: number) => boolean): boolean {
  const socket = (term as { _socket?: unknown })._socket as Partial<MasterStream> | undefined;
  const fd = (term as { fd?: unknown }).fd;
  if (!socket || typeof socket.destroy !== 'function' || typeof fd !== 'number') return false;
  // Every ptmx master has the same device numbers; Linux tells them apart by
  // the pty's number in fdinfo, so another session's master (the number
  // reused) is not taken for ours.
  const index = ptyIndex(fd);
  const stillOurs = isTerminal ?? ((n: number) => isCharacterDevice(n) && (index === null || ptyIndex(n) === index));
  const destroy = socket.destroy;
  let drained = false;
  socket.destroy = function (this: MasterStream, error?: Error) {
    if (drained) return destroy.call(this, error);
    drained = true;
    let result: unknown;
    try {
      // Once destroyed, the descriptor is closed and its number may be another file's.
      if (!this.destroyed) {
        if (typeof this.read === 'function') {
          // Paused, read() returns all it holds at once (and emits it as 'data'); bounded in case it does not.
          for (let i = 0; i < 64 && (this.readableLength ?? 0) > 0; i++) if (this.read() === null) break;
        }
        // (Checked again: what read() emitted could have destroyed the stream.)
        if (!this.destroyed && stillOurs(fd)) for (const piece of readRemaining(fd)) deliver(piece);
      }
    } finally {
      result = destroy.call(this, error);
    }
    return result;
  };
  return true;
}

/** The pty number of a ptmx master descriptor (Linux's fdinfo `tty-index`), or null where it is not shown. */
export function ptyIndex(fd: number): string | null {
  try {
    return /^tty-index:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}
