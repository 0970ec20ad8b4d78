// Per-channel bookkeeping for the connection layer (RFC 4254 §5) and the table
// that hands out local channel numbers.

/** Misuse of the connection API by the application (not the peer's fault). */
export class ChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

/**
 * - `opening`: we sent CHANNEL_OPEN and wait for the peer's answer.
 * - `open-request`: the peer sent CHANNEL_OPEN; the application has not answered.
 * - `open`: both sides may use the channel.
 * - `closing`: we sent CHANNEL_CLOSE and wait for the peer's.
 */
export type ChannelState = 'opening' | 'open-request' | 'open' | 'closing';

export interface ChannelInfo {
  readonly channel: number;
  readonly channelType: string;
  readonly state: ChannelState;
  /** The peer's number for this channel; undefined until it is known. */
  readonly remoteChannel: number | undefined;
  /** How much more the peer may send us before we adjust. */
  readonly localWindow: number;
  readonly localMaxPacket: number;
  /** How much more we may send (the peer's remaining window). */
  readonly remoteWindow: number;
  readonly remoteMaxPacket: number;
  /** Received bytes the application has not yet reported as consumed. */
  readonly unconsumed: number;
  readonly sentEof: boolean;
  readonly receivedEof: boolean;
  readonly sentClose: boolean;
}

export class Channel {
  state: ChannelState;
  remote: number | undefined = undefined;
  remoteWindow = 0;
  remoteMaxPacket = 0;
  /**
   * The channel's whole window: what we advertised on open plus any growth.
   * Re-grants happen in steps of at least half of it, and it is what the
   * channel holds of the connection's receive budget.
   */
  localInitialWindow: number;
  /** The part of the window drawn from the connection's receive budget. */
  budgeted = 0;
  localMaxPacket: number;
  localWindow: number;
  unconsumed = 0;
  /** Consumed bytes not yet given back to the peer with WINDOW_ADJUST. */
  consumedNotGranted = 0;
  sentEof = false;
  receivedEof = false;
  sentClose = false;
  /** close() was called before the peer confirmed our open. */
  closeWhenConfirmed = false;
  /** The peer confirmed our open with terms we refuse; its failure was reported, so its CLOSE is silent. */
  refusedAtConfirmation = false;
  /** Our requests with want-reply that have no CHANNEL_SUCCESS/FAILURE yet. */
  ourRequestsAwaitingReply = 0;
  /** The peer's requests with want-reply the application has not answered yet. */
  peerRequestsAwaitingAnswer = 0;

  constructor(
    readonly local: number,
    readonly type: string,
    state: ChannelState,
    window: number,
    maxPacket: number,
  ) {
    this.state = state;
    this.localInitialWindow = window;
    this.localWindow = window;
    this.localMaxPacket = maxPacket;
  }

  info(): ChannelInfo {
    return {
      channel: this.local,
      channelType: this.type,
      state: this.state,
      remoteChannel: this.remote,
      localWindow: this.localWindow,
      localMaxPacket: this.localMaxPacket,
      remoteWindow: this.remoteWindow,
      remoteMaxPacket: this.remoteMaxPacket,
      unconsumed: this.unconsumed,
      sentEof: this.sentEof,
      receivedEof: this.receivedEof,
      sentClose: this.sentClose,
    };
  }
}

const NO_CHANNELS: ReadonlyMap<number, Channel> = new Map();

/**
 * Live channels by local number. Freed numbers are reused lowest first (as
 * OpenSSH reuses its lowest free slot), which keeps numbers small and makes a
 * long-lived connection's numbering predictable.
 */
export class ChannelTable {
  /** Made with the first channel: an idle connection has none, and an empty Map is ~0.2 KiB. */
  private live: Map<number, Channel> | null = null;
  /** Freed numbers below `fresh`, kept sorted ascending. */
  private readonly freed: number[] = [];
  private fresh = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.live?.size ?? 0;
  }

  get full(): boolean {
    return this.size >= this.limit;
  }

  get(n: number): Channel | undefined {
    return this.live?.get(n);
  }

  values(): IterableIterator<Channel> {
    return (this.live ?? NO_CHANNELS).values();
  }

  /** Reserves the lowest free number; the caller must have checked `full`. */
  allocate(make: (n: number) => Channel): Channel {
    const n = this.freed.length > 0 ? this.freed.shift()! : this.fresh++;
    const ch = make(n);
    (this.live ??= new Map()).set(n, ch);
    return ch;
  }

  release(n: number): void {
    if (!this.live?.delete(n)) return;
    if (n === this.fresh - 1) {
      // Shrink the fresh counter instead of growing the free list.
      this.fresh--;
      while (this.freed.length > 0 && this.freed[this.freed.length - 1] === this.fresh - 1) {
        this.freed.pop();
        this.fresh--;
      }
      return;
    }
    let lo = 0;
    let hi = this.freed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.freed[mid]! < n) lo = mid + 1;
      else hi = mid;
    }
    this.freed.splice(lo, 0, n);
  }
}
