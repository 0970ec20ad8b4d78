// The socket end of a forwarded channel: how a channel and a socket close
// together, and sockets the server connects out itself (`ssh -L`), which read
// into one reused buffer and hand each read to the channel directly.
import type { OnReadOpts, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Channel } from '../io/node/channel.js';

const noop = (): void => undefined;

/**
 * Closes each side when the other is done: the socket once the channel has
 * closed and what it delivered has left the socket, the channel once the
 * socket has closed and what it read has gone into the channel. Half-close
 * (EOF) is the data paths' business, not this.
 */
export function closeTogether(channel: Channel, socket: Socket): void {
  channel.once('close', () => {
    // Let what the channel delivered leave the socket before it goes.
    if (socket.writableFinished || socket.destroyed || !socket.writableEnded) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  });
  channel.once('channel-close', () => {
    // The pipe ends the socket once the channel's last data is written to it;
    // ending it here before that would cut the data still buffered.
    if (channel.readableEnded && !socket.writableEnded) socket.end();
  });
  socket.once('close', () => {
    // Let what the socket sent reach the channel before it closes.
    if (channel.writableFinished || channel.destroyed) channel.destroy();
    else channel.once('finish', () => channel.destroy());
  });
}

/** What a destination may hold unwritten before its source pauses (the channel's window then closes as its buffer fills). */
const GATHER_LIMIT = 256 * 1024;

/**
 * `source.pipe(dest)` for channel data going into a socket (a program's
 * stdin, a forwarded connection), but with the packets of one turn of the
 * event loop written together: the socket is corked at the first one and
 * uncorked at the end of the turn, so what one or several reads of the SSH
 * socket brought leaves in one `writev` instead of one write (and one wake-up
 * of the reader) per 32 KiB packet. `pipe()` cannot: a socket's write returns
 * false past 16 KiB, and pipe() pauses at every packet. The source pauses
 * while the destination holds more than GATHER_LIMIT unwritten. As pipe():
 * the source's end ends the destination (unless `end` is false), and a
 * destination that closes or fails stops the forwarding and pauses the source.
 */
export function forwardInto(source: Readable, dest: Writable, end = true): void {
  let corked = false;
  let stopped = false;
  const uncork = (): void => {
    corked = false;
    dest.uncork();
  };
  const resume = (): void => {
    if (!stopped) source.resume();
  };
  const onData = (chunk: Buffer): void => {
    if (dest.destroyed || dest.writableEnded) return stop();
    if (!corked) {
      corked = true;
      dest.cork();
      setImmediate(uncork);
    }
    dest.write(chunk);
    // write() says false past the socket's 16 KiB mark already; 'drain' comes once all is written.
    if (dest.writableLength >= GATHER_LIMIT && dest.writableNeedDrain) {
      source.pause();
      dest.once('drain', resume);
    }
  };
  const onEnd = (): void => {
    if (!stopped && end && !dest.destroyed && !dest.writableEnded) dest.end();
    stop(false);
  };
  function stop(pause = true): void {
    if (stopped) return;
    stopped = true;
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('close', onSourceClose);
    dest.off('close', onStop);
    dest.off('finish', onStop);
    dest.off('error', onStop);
    dest.off('drain', resume);
    if (pause) source.pause();
  }
  const onStop = (): void => stop();
  // A source destroyed without an end: nothing more comes, so let go of the destination's listeners.
  const onSourceClose = (): void => stop(false);
  source.on('data', onData);
  source.once('end', onEnd);
  source.once('close', onSourceClose);
  dest.once('close', onStop);
  dest.once('finish', onStop);
  dest.on('error', onStop);
  source.resume();
}

/**
 * One buffer every outgoing forwarded socket reads into (Node's `onread`):
 * reads run one at a time on the event loop, and the channel has sent or
 * copied the bytes when `sendData(bytes, true)` returns. Larger than the
 * 64 KiB libuv reads otherwise: on loopback a read then brings up to 8 full
 * packets (the connection's limit for one write call, WRITE_CALL_LIMIT),
 * which measured a little less CPU per MiB than 64 or 128 KiB.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * A socket the server connects out (direct-tcpip, direct-streamlocal),
 * created with `onread` so that its reads need no fresh buffer each. Until
 * `join` gives it a channel it does not read (there is nothing to read
 * before 'connect', where the caller joins it).
 */
export class OutgoingSocket {
  readonly socket: Socket;
  private channel: Channel | null = null;
  /** Settles once the channel has taken a read it could not send at once. */
  private pending: Promise<void> | null = null;

  /** `connect` makes the socket with the given `onread` option (net.connect takes it). */
  constructor(connect: (onread: OnReadOpts) => Socket) {
    this.socket = connect({ buffer: READ_BUFFER, callback: (n, buf) => this.read(buf.subarray(0, n)) });
    // Nothing is read before join (a read then would have nowhere to go).
    this.socket.pause();
  }

  private read(bytes: Uint8Array): boolean {
    const channel = this.channel;
    if (!channel) {
      this.socket.pause();
      return false;
    }
    // Dropped once the channel is closed, as a write into it would be.
    const wait = channel.sendData(bytes, true);
    if (!wait) return true;
    const pending = wait.then(() => {
      if (this.pending === pending) this.pending = null;
      if (!this.socket.destroyed) this.socket.resume();
    }, noop);
    this.pending = pending;
    // Returning false stops the reads; resume() starts them again only on a paused socket.
    this.socket.pause();
    return false;
  }

  /**
   * Joins the connected socket and `channel`, with half-close both ways: the
   * socket's reads go into the channel (reading pauses while the channel
   * holds a rest back: the client's window, the SSH socket's backlog) and its
   * EOF becomes the channel's once they are sent; the channel's data and EOF
   * go into the socket, the packets of one turn in one write (`forwardInto`).
   */
  join(channel: Channel): void {
    const socket = this.socket;
    this.channel = channel;
    channel.on('error', noop);
    socket.on('error', () => channel.destroy());
    socket.once('end', () => {
      const end = (): void => {
        if (!channel.destroyed && !channel.writableEnded) channel.end();
      };
      if (this.pending) void this.pending.then(end);
      else end();
    });
    forwardInto(channel, socket);
    closeTogether(channel, socket);
    // Flowing, so that 'end' comes (reads go to the callback, never as 'data').
    socket.resume();
  }
}
