// Drives a transport core over a Node Duplex (a TCP socket, or anything that
// carries bytes): feeds received bytes in, writes what the core emits, keeps
// the core's deadline as a timer, and hands events to a listener.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TransportEvent } from '../../core/transport/events.js';
import { Transport, type TransportOptions } from '../../core/transport/transport.js';

export const nodeRandom = (length: number): Uint8Array => randomBytes(length);

export type DriverOptions = Omit<TransportOptions, 'random' | 'now'> & {
  readonly random?: TransportOptions['random'];
};

export class TransportDriver {
  readonly transport: Transport;
  private timer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(
    private readonly socket: Duplex,
    options: DriverOptions,
    private readonly onEvent: (event: TransportEvent, driver: TransportDriver) => void,
  ) {
    this.transport = new Transport({ ...options, random: options.random ?? nodeRandom, now: Date.now() });
    socket.on('data', (chunk: Buffer) => {
      this.transport.receive(chunk);
      this.run();
    });
    socket.on('end', () => this.lost('peer closed the connection'));
    socket.on('close', () => this.lost('connection closed'));
    socket.on('error', (err: Error) => this.lost(`socket error: ${err.message}`));
    this.run();
  }

  /** Call after issuing commands on `transport`, so their output is written. */
  run(): void {
    for (let b = this.transport.pollTransmit(); b; b = this.transport.pollTransmit()) {
      if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
    }
    for (let e = this.transport.pollEvent(); e; e = this.transport.pollEvent()) {
      this.onEvent(e, this);
      if (e.type === 'disconnected') this.finish();
    }
    // Commands issued by the listener may have produced output.
    let more = false;
    for (let b = this.transport.pollTransmit(); b; b = this.transport.pollTransmit()) {
      more = true;
      if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
    }
    if (more || this.hasEvents()) {
      this.run();
      return;
    }
    this.schedule();
  }

  private hasEvents(): boolean {
    const e = this.transport.pollEvent();
    if (!e) return false;
    this.onEvent(e, this);
    if (e.type === 'disconnected') this.finish();
    return true;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.transport.nextDeadline();
    if (deadline === null || this.ended) return;
    const delay = Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.transport.handleTimeout(Date.now());
      this.run();
    }, delay);
    this.timer.unref();
  }

  private lost(why: string): void {
    if (this.ended) return;
    this.transport.connectionLost(why);
    this.run();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket.end();
  }
}
