// The SFTP session's bytes onto its channel, in order, without copying:
// each piece goes to Channel.sendData, and the next waits while one is held
// back by the peer's window or the socket. `afterSent` tells a writer when
// what it queued has been taken (so a caller's buffer may be reused).
import type { Channel } from '../../io/node/channel.js';

export class Outbox {
  private readonly queue: Uint8Array[] = [];
  private holding = false;
  /** Pieces queued and pieces taken by the channel, counted from the start. */
  private queued = 0;
  private sent = 0;
  private waiters: { readonly at: number; readonly fn: () => void }[] = [];

  constructor(private readonly channel: Channel) {}

  /** Bytes given to `push` that the channel has not taken yet are this many pieces. */
  get backlog(): number {
    return this.queued - this.sent;
  }

  push(bytes: Uint8Array): void {
    this.queued++;
    this.queue.push(bytes);
    if (!this.holding) this.pump();
  }

  /** Calls `fn` once everything pushed so far has been taken by the channel (at once if it has). */
  afterSent(fn: () => void): void {
    if (this.sent === this.queued) fn();
    else this.waiters.push({ at: this.queued, fn });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const b = this.queue.shift()!;
      const wait = this.channel.sendData(b);
      if (wait) {
        this.holding = true;
        const go = (): void => {
          this.holding = false;
          this.sent++;
          this.wake();
          this.pump();
        };
        wait.then(go, go);
        return;
      }
      this.sent++;
    }
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready: (() => void)[] = [];
    let keep = 0;
    for (const w of this.waiters) {
      if (w.at <= this.sent) ready.push(w.fn);
      else this.waiters[keep++] = w;
    }
    this.waiters.length = keep;
    for (const fn of ready) fn();
  }
}
