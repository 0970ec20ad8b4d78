// Events of the connection layer (RFC 4254). Channels are named by our local
// channel number throughout.

export interface ConnectionOptions {
  /** Receive window we advertise per channel; default 2 MiB. */
  readonly windowSize?: number;
  /** Largest data payload we accept per packet; default 32 KiB. */
  readonly maxPacket?: number;
  /** Open channels allowed at once on this connection; default 1024. */
  readonly maxChannels?: number;
  /**
   * What the windows of all channels on this connection, beyond each one's
   * first `maxPacket` bytes, may add up to: bounds the data the peer may send
   * that the application has not processed yet, at `maxChannels * maxPacket +
   * receiveBudget` (64 MiB with the defaults). Channels opened once it is
   * spent get a window of one packet until others close. Default 32 MiB.
   */
  readonly receiveBudget?: number;
}

export type ConnectionEvent =
  /** The peer wants to open a channel; answer with `acceptChannel` or `rejectChannel`. */
  | { readonly type: 'channel-open-request'; readonly channel: number; readonly channelType: string; readonly data: Uint8Array }
  | { readonly type: 'channel-open-confirmed'; readonly channel: number; readonly data: Uint8Array }
  | { readonly type: 'channel-open-failed'; readonly channel: number; readonly reason: number; readonly description: string }
  /** `dataType` is 1 (stderr) for extended data, undefined for normal data. Call `consumed` once processed. */
  | { readonly type: 'channel-data'; readonly channel: number; readonly data: Uint8Array; readonly dataType?: number }
  /** The peer's window opened: `write` may send more. */
  | { readonly type: 'channel-writable'; readonly channel: number; readonly window: number }
  | { readonly type: 'channel-eof'; readonly channel: number }
  /** Both sides closed: the channel number is free again. No event for it follows. */
  | { readonly type: 'channel-close'; readonly channel: number }
  /** Answer with `answerChannelRequest(channel, ok)` when `wantReply` (answers go in arrival order). */
  | { readonly type: 'channel-request'; readonly channel: number; readonly requestType: string; readonly wantReply: boolean; readonly data: Uint8Array }
  | { readonly type: 'channel-request-reply'; readonly channel: number; readonly success: boolean }
  /** Answer with `answerGlobalRequest(id, ok, data?)` when `wantReply`. */
  | { readonly type: 'global-request'; readonly id: number; readonly name: string; readonly wantReply: boolean; readonly data: Uint8Array }
  | { readonly type: 'global-reply'; readonly id: number; readonly success: boolean; readonly data: Uint8Array };
