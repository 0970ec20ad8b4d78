// Both directions of the binary packet protocol over one byte stream:
// received bytes in, payloads out; payloads in, wire chunks out. Owns the
// sequence numbers, the current protections, compression and the byte and
// packet counts the rekey policy reads. The transport decides when keys change.
import type { RandomSource } from '../../algorithms/types.js';
import { concat } from '../../wire/writer.js';
import { ByteQueue } from './byte-queue.js';
import { CompressionState } from './compression-state.js';
import { NO_PROTECTION, PacketOpener, PacketSealer, type Protection } from './packet-protection.js';
import type { RekeyPolicy } from '../kex/rekey.js';
import { ProtocolError } from '../../errors.js';

/** The reused buffer for packets that straddle two reads (see `read`), shared by every stream. */
let straddleScratch = new Uint8Array(0);

/** The size of that shared buffer (0 until a packet first straddled two reads); for tests. */
export function straddleBufferLength(): number {
  return straddleScratch.length;
}

export class PacketStream {
  /** Received bytes not yet parsed (the version exchange reads them too). */
  readonly inbound = new ByteQueue();
  /** Wire chunks waiting to be written, in order. */
  readonly outbound: Uint8Array[] = [];
  readonly compression = new CompressionState();
  private sealer: PacketSealer;
  private opener = new PacketOpener(NO_PROTECTION);
  private sendSeq = 0;
  private recvSeq = 0;

  constructor(
    private readonly random: RandomSource,
    private readonly rekey: RekeyPolicy,
  ) {
    this.sealer = new PacketSealer(NO_PROTECTION, random);
  }

  /** Sequence number the next packet we send will carry. */
  get nextSendSeq(): number {
    return this.sendSeq;
  }

  /**
   * Queues received bytes. `lent` bytes belong to the caller, who reuses
   * their memory once `receive` returns: before the keys are in force a
   * payload is a view of the wire bytes (and the exchange keeps some of
   * them), so they are copied at once; afterwards every payload is opened
   * into memory of its own and only the unread rest is copied afterwards
   * (`releaseLent`).
   */
  push(bytes: Uint8Array, lent: boolean): void {
    this.inbound.push(lent && !this.opener.copiesOut ? new Uint8Array(bytes) : bytes);
  }

  /** The caller takes back lent `bytes`: whatever of them is still queued is copied. */
  releaseLent(bytes: Uint8Array): void {
    this.inbound.ownCopies(bytes.buffer);
  }

  /** The next whole packet's payload, or null until enough bytes have arrived. */
  read(): { payload: Uint8Array; seq: number } | null {
    const opener = this.opener;
    let wireLength = opener.wireLength;
    if (wireLength < 0) {
      if (this.inbound.length < opener.headerLength) return null;
      opener.readLength(this.recvSeq, this.inbound.peek(opener.headerLength));
      wireLength = opener.wireLength;
    }
    if (this.inbound.length < wireLength) return null;
    // A packet that straddles two reads is copied into one reused buffer when
    // the opener decrypts into memory of its own (no allocation per packet):
    // one buffer for every stream of the process, since the opened payload no
    // longer needs it and reads never interleave. It comes with the first
    // packet that straddles (logins and idle sessions never have one), and a
    // connection that once moved bulk data no longer keeps 64 KiB or more of
    // its own for the rest of its life.
    let scratch: Uint8Array | null = null;
    if (opener.copiesOut && !this.inbound.isContiguous(wireLength)) {
      if (straddleScratch.length < wireLength) straddleScratch = new Uint8Array(Math.max(wireLength, 64 * 1024));
      scratch = straddleScratch;
    }
    const wire = this.inbound.take(wireLength, scratch);
    const seq = this.recvSeq;
    let payload = opener.open(seq, wire);
    this.recvSeq = (this.recvSeq + 1) >>> 0;
    this.rekey.received(wireLength);
    payload = this.compression.decompress(payload);
    if (payload.length === 0) throw new ProtocolError('empty payload');
    return { payload, seq };
  }

  /** True when the receive sequence number just wrapped to 0. */
  get receiveWrapped(): boolean {
    return this.recvSeq === 0;
  }

  /** Frames and protects `payload || tail` and queues the wire chunks. */
  write(payload: Uint8Array, tail?: Uint8Array): void {
    let wireLength: number;
    if (tail && !this.compression.active) {
      wireLength = this.sealer.sealTo(this.sendSeq, payload, this.outbound, tail);
    } else {
      const body = this.compression.compress(tail ? concat([payload, tail]) : payload);
      wireLength = this.sealer.sealTo(this.sendSeq, body, this.outbound);
    }
    this.sendSeq = (this.sendSeq + 1) >>> 0;
    this.rekey.sent(wireLength);
  }

  /** Queues raw bytes (the version line). */
  writeRaw(bytes: Uint8Array): void {
    this.outbound.push(bytes);
  }

  /** New keys for what we send, right after our NEWKEYS. Strict kex restarts the count. */
  setOutgoing(protection: Protection, compression: string, byteLimit: number, resetSeq: boolean): void {
    this.sealer = new PacketSealer(protection, this.random);
    if (resetSeq) this.sendSeq = 0;
    this.compression.setOutgoing(compression);
    this.rekey.outgoingKeys(byteLimit);
  }

  /** New keys for what we receive, right after the peer's NEWKEYS. */
  setIncoming(protection: Protection, compression: string, byteLimit: number, resetSeq: boolean): void {
    this.opener = new PacketOpener(protection);
    this.compression.setIncoming(compression);
    this.rekey.incomingKeys(byteLimit);
    if (resetSeq) this.recvSeq = 0;
  }
}
