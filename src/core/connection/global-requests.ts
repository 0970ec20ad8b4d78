// Matching of global requests and their replies (RFC 4254 §4). Replies carry
// no request identifier: they are matched purely by order, so both directions
// keep a FIFO.

import { ProtocolError } from '../../errors.js';
import { ChannelError } from './channel.js';

interface PeerRequest {
  readonly id: number;
  answer: { readonly success: boolean; readonly data: Uint8Array } | undefined;
}

export class GlobalRequests {
  private nextId = 1;
  /** Ids of our requests that wait for REQUEST_SUCCESS/FAILURE, oldest first. */
  private readonly ours: number[] = [];
  /** The peer's requests that want a reply, in arrival order. */
  private readonly theirs: PeerRequest[] = [];

  /** Registers one of our requests; returns its id. */
  sent(wantReply: boolean): number {
    const id = this.nextId++;
    if (wantReply) this.ours.push(id);
    return id;
  }

  /** The id of our oldest unanswered request, consumed by the peer's reply. */
  replied(): number {
    const id = this.ours.shift();
    if (id === undefined) throw new ProtocolError('global request reply with no request outstanding');
    return id;
  }

  /** Registers a request from the peer; returns its id. */
  received(wantReply: boolean): number {
    const id = this.nextId++;
    if (wantReply) this.theirs.push({ id, answer: undefined });
    return id;
  }

  /**
   * Records the application's answer and returns the replies that may now go
   * out: an answer to a later request is held until every earlier one is
   * answered, because the peer matches replies by order alone. Answering a
   * request that wanted no reply, or one already answered, does nothing.
   */
  answer(id: number, success: boolean, data: Uint8Array): { success: boolean; data: Uint8Array }[] {
    if (!Number.isInteger(id) || id <= 0 || id >= this.nextId) throw new ChannelError(`no global request has id ${id}`);
    const entry = this.theirs.find((r) => r.id === id);
    if (entry === undefined || entry.answer !== undefined) return [];
    entry.answer = { success, data };
    const ready: { success: boolean; data: Uint8Array }[] = [];
    while (this.theirs.length > 0 && this.theirs[0]!.answer !== undefined) ready.push(this.theirs.shift()!.answer!);
    return ready;
  }

  /** Peer requests still waiting for the application's answer. */
  get pendingAnswers(): number {
    return this.theirs.length;
  }

  /** Our requests still waiting for the peer's reply. */
  get pendingReplies(): number {
    return this.ours.length;
  }
}
