// The client's reading of the server's packets. Like SftpFramer, with one
// difference for the download path: the body of a DATA reply is handed on
// as the pieces of the channel's chunks it lies in, never gathered into a
// buffer of its own. A 255 KiB reply arrives in several SSH packets; copying
// it together would cost an allocation and a copy of every downloaded byte.
// Every other packet (small: STATUS, HANDLE, NAME ...) is gathered whole, as
// SftpFramer does. Lengths are checked before anything is kept.
import { ProtocolError } from '../errors.js';
import { FXP } from './constants.js';

/** A whole packet (payload without its length word), or a DATA reply in pieces. */
export type ReceivedPacket = { readonly kind: 'packet'; readonly payload: Uint8Array } | { readonly kind: 'data'; readonly id: number; readonly pieces: Uint8Array[]; readonly length: number };

/** The head of a DATA packet: length word, type, id, data length. */
const DATA_HEAD = 13;

export class SftpReplyReader {
  private readonly head = new Uint8Array(DATA_HEAD);
  private headLength = 0;
  /** A packet being gathered whole: its buffer and how much is filled. */
  private packet: Uint8Array | null = null;
  private packetFilled = 0;
  /** A DATA body being collected: its id, pieces and what is still to come. */
  private dataId = 0;
  private dataPieces: Uint8Array[] = [];
  private dataLength = 0;
  private dataRemaining = -1;

  /** `maxPacket`: the largest payload accepted; a longer length word is a ProtocolError. */
  constructor(readonly maxPacket: number) {}

  /**
   * Takes a chunk of the channel's data and hands each packet completed by it
   * to `deliver`, in order. Throws ProtocolError on a bad length (the session
   * is over then; nothing more may be pushed).
   */
  push(chunk: Uint8Array, deliver: (p: ReceivedPacket) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.dataRemaining >= 0) {
        const n = Math.min(this.dataRemaining, chunk.length - at);
        this.dataPieces.push(chunk.subarray(at, at + n));
        at += n;
        this.dataRemaining -= n;
        if (this.dataRemaining === 0) this.finishData(deliver);
        continue;
      }
      if (this.packet !== null) {
        const n = Math.min(this.packet.length - this.packetFilled, chunk.length - at);
        this.packet.set(chunk.subarray(at, at + n), this.packetFilled);
        this.packetFilled += n;
        at += n;
        if (this.packetFilled === this.packet.length) {
          const payload = this.packet;
          this.packet = null;
          deliver({ kind: 'packet', payload });
        }
        continue;
      }
      // The head: the length word (checked at once), the type; a DATA reply's head is 13 bytes.
      const want = this.headLength < 4 ? 4 : this.headLength < 5 ? 5 : DATA_HEAD;
      const n = Math.min(want - this.headLength, chunk.length - at);
      this.head.set(chunk.subarray(at, at + n), this.headLength);
      this.headLength += n;
      at += n;
      if (this.headLength < want) continue;
      const length = this.u32(0);
      if (length === 0) throw new ProtocolError('SFTP packet: length 0');
      if (length > this.maxPacket) throw new ProtocolError(`SFTP packet: length ${length} is over the limit of ${this.maxPacket}`);
      if (this.headLength < 5) continue;
      const type = this.head[4]!;
      if (type === FXP.DATA && length >= DATA_HEAD - 4) {
        if (this.headLength < DATA_HEAD) continue; // read on to the data length
        const dataLength = this.u32(9);
        if (dataLength !== length - (DATA_HEAD - 4)) throw new ProtocolError(`SFTP DATA: ${dataLength} bytes of data in a packet of ${length}`);
        this.headLength = 0;
        this.dataId = this.u32(5);
        this.dataLength = dataLength;
        this.dataPieces = [];
        this.dataRemaining = dataLength;
        if (dataLength === 0) this.finishData(deliver);
        continue;
      }
      // Any other packet (or a DATA too short to be one, for the decoder to refuse): gathered whole.
      const packet = new Uint8Array(length);
      packet.set(this.head.subarray(4, this.headLength));
      this.packetFilled = this.headLength - 4;
      this.headLength = 0;
      if (this.packetFilled === length) deliver({ kind: 'packet', payload: packet });
      else this.packet = packet;
    }
  }

  private finishData(deliver: (p: ReceivedPacket) => void): void {
    const pieces = this.dataPieces;
    this.dataPieces = [];
    this.dataRemaining = -1;
    deliver({ kind: 'data', id: this.dataId, pieces, length: this.dataLength });
  }

  private u32(at: number): number {
    const h = this.head;
    return ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0;
  }
}
