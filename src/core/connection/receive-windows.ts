// Our side of channel flow control: the window each channel advertises, the
// connection-wide budget those windows draw on, and when data the
// application has processed earns the peer a WINDOW_ADJUST. The connection
// sends the messages; this holds the arithmetic.
import type { Channel } from './channel.js';

export class ReceiveWindows {
  /**
   * The channels' windows beyond their first packet, added up (a window is
   * what the peer may send us before we adjust, plus what we received and the
   * application has not processed, plus what it processed and we have not yet
   * re-granted). Never above the budget.
   */
  private committed = 0;

  constructor(
    /** What the channels' windows beyond their first packet may add up to. */
    readonly budget: number,
    /** Our max packet: the part of every window that is free of the budget. */
    private readonly maxPacket: number,
  ) {}

  /** How much of the budget the windows hold now. */
  get committedBytes(): number {
    return this.committed;
  }

  /**
   * Sets a channel's window before it is advertised: `want`, as far as the
   * budget reaches. Up to one packet of it (our max packet) is free, so
   * every channel can always make progress; only the rest is drawn from the
   * budget. The first channels get their whole window; once the budget is
   * spent, new ones get one packet's worth until others close.
   */
  set(ch: Channel, want: number): void {
    this.committed -= ch.budgeted;
    const free = Math.min(want, this.maxPacket);
    ch.budgeted = Math.max(0, Math.min(want - free, this.budget - this.committed));
    this.committed += ch.budgeted;
    ch.localInitialWindow = ch.localWindow = free + ch.budgeted;
  }

  /** The channel is gone: its window goes back to the budget. */
  release(ch: Channel): void {
    this.committed -= ch.budgeted;
  }

  /**
   * The application processed `bytes` of the channel's data. Returns the
   * window to grant the peer now (0: none yet): it is given back once at
   * least half of the initial window has been processed, so memory held for
   * a slow reader stays within the window. Counts beyond what was received
   * are clamped.
   */
  consumed(ch: Channel, bytes: number): number {
    const n = Math.min(Math.floor(bytes), ch.unconsumed);
    ch.unconsumed -= n;
    ch.consumedNotGranted += n;
    // Window given back after the peer's EOF or our CLOSE would be useless (or forbidden).
    if (ch.receivedEof || ch.sentClose) return 0;
    if (ch.consumedNotGranted * 2 < ch.localInitialWindow) return 0;
    const grant = ch.consumedNotGranted;
    ch.consumedNotGranted = 0;
    ch.localWindow += grant;
    return grant;
  }

  /**
   * Raises the channel's window to `size` in total, as far as the budget
   * allows. Returns the bytes added (0: none), for a WINDOW_ADJUST.
   */
  grow(ch: Channel, size: number): number {
    if (ch.receivedEof || ch.sentClose || size <= ch.localInitialWindow) return 0;
    const extra = Math.min(size - ch.localInitialWindow, this.budget - this.committed);
    if (extra <= 0) return 0;
    this.committed += extra;
    ch.budgeted += extra;
    ch.localInitialWindow += extra;
    ch.localWindow += extra;
    return extra;
  }
}
