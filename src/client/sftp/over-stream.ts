// The SFTP client over any byte stream, not only a session channel: a local
// sftp-server's standard input and output (`sftp -D`), another ssh program
// running the `sftp` subsystem (`sftp -S`), a socket. The client is the one
// `client.sftp()` returns (client.ts's NodeSftpClient); this module only
// adapts a Duplex to what it runs over (SftpCarrier).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { AbortError } from '../../errors.js';
import { NodeSftpClient } from './client.js';
import type { SftpCarrier } from './outbox.js';
import type { SftpClient } from './api.js';

export interface OpenSftpOptions {
  /** Gives up waiting for the server's VERSION (the stream is destroyed). */
  readonly signal?: AbortSignal;
}

/** What close() gives the server to close its side after ours is ended, before the stream is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** A Duplex as an SftpCarrier: bytes out with write(), in with 'data'. */
class StreamCarrier extends EventEmitter implements SftpCarrier {
  private closed = false;

  constructor(private readonly stream: Duplex) {
    super();
    stream.on('data', (chunk: Uint8Array) => this.emit('data', chunk));
    stream.on('end', () => this.emit('end'));
    stream.on('error', (err: Error) => this.emit('error', err));
    stream.on('close', () => this.finish());
  }

  get destroyed(): boolean {
    return this.closed || this.stream.destroyed;
  }

  /**
   * Resolves once the stream has taken the bytes: a Writable keeps a
   * reference to what it is given until it is written, and the client
   * reuses a WRITE's buffer once it is taken.
   */
  sendData(data: Uint8Array): Promise<void> | undefined {
    if (this.destroyed || this.stream.writableEnded) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Ends our side; the stream is destroyed if the server has not closed its side in time. */
  close(): void {
    if (this.destroyed) return;
    this.stream.end();
    const timer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  }

  destroy(): void {
    if (!this.stream.destroyed) this.stream.destroy();
    // A stream without autoDestroy may never say 'close'.
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/**
 * Runs the SFTP client (version 3 with OpenSSH's extensions) over `stream`,
 * which carries an SFTP server's packets both ways: for a child process,
 * `Duplex.from({ readable: child.stdout, writable: child.stdin })`. Resolves
 * once the server's VERSION (and limits) arrived; `end()` ends the session
 * and closes the stream (what was asked before has been answered by then).
 */
export async function openSftp(stream: Duplex, options: OpenSftpOptions = {}): Promise<SftpClient> {
  const carrier = new StreamCarrier(stream);
  const signal = options.signal;
  if (signal?.aborted) {
    carrier.destroy();
    throw new AbortError();
  }
  const client = new NodeSftpClient(carrier);
  const onAbort = (): void => carrier.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.ready;
  } catch (err) {
    carrier.destroy();
    throw signal?.aborted ? new AbortError() : err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return client;
}
