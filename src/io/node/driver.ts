// Drives a sans-I/O core (a Transport or a Session) over a Node Duplex: feeds
// received bytes in, writes what the core emits, keeps the core's next
// deadline as a timer, and hands events to a listener. Socket backpressure is
// reported to the layer above through `needsDrain` and `onDrain`.
import type { Duplex } from 'node:stream';

export interface Driveable<E> {
  receive(bytes: Uint8Array, now?: number): void;
  pollTransmit(): Uint8Array | null;
  pollEvent(): E | null;
  nextDeadline(): number | null;
  handleTimeout(now: number): void;
  connectionLost(description?: string): void;
}

export class Driver<E extends { type: string }> {
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  private running = false;
  private again = false;
  private readonly drainListeners: (() => void)[] = [];

  constructor(
    readonly socket: Duplex,
    readonly core: Driveable<E>,
    private readonly onEvent: (event: E) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      core.receive(chunk, Date.now());
      this.run();
    });
    socket.on('end', () => this.lost('peer closed the connection'));
    socket.on('close', () => this.lost('connection closed'));
    socket.on('error', (err: Error) => this.lost(`socket error: ${err.message}`));
    socket.on('drain', () => {
      for (const l of this.drainListeners.splice(0)) l();
      this.run();
    });
  }

  /** True while the socket's write buffer is above its high-water mark. */
  get needsDrain(): boolean {
    return (this.socket as { writableNeedDrain?: boolean }).writableNeedDrain === true;
  }

  /** Calls `fn` once, when the socket's write buffer drains. */
  onDrain(fn: () => void): void {
    this.drainListeners.push(fn);
  }

  /**
   * Writes pending output and delivers pending events. Call after issuing
   * commands on the core. Re-entrant calls (from event handlers) are folded
   * into the running loop.
   */
  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.flush();
        for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
          this.onEvent(e);
          this.flush();
          if (e.type === 'disconnected') this.finish();
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
    this.schedule();
  }

  private flush(): void {
    for (let b = this.core.pollTransmit(); b; b = this.core.pollTransmit()) {
      if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.ended) return;
    const deadline = this.core.nextDeadline();
    if (deadline === null) return;
    const delay = Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.core.handleTimeout(Date.now());
      this.run();
    }, delay);
  }

  private lost(why: string): void {
    if (this.ended) return;
    this.core.connectionLost(why);
    this.run();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.socket.destroyed) this.socket.end();
    // Give the DISCONNECT a moment to leave, then make sure the socket goes.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
