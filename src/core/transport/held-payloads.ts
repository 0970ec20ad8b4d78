// Upper-layer payloads the transport holds while a key exchange is under way
// (RFC 4253 §7.1: only transport and exchange messages may go out then), up
// to a byte limit past which the connection is dropped rather than growing
// without bound.
export class HeldPayloads {
  private payloads: Uint8Array[] = [];
  private bytes = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.payloads.length;
  }

  /** Bytes held now. */
  get byteLength(): number {
    return this.bytes;
  }

  /** Holds `payload`; false when the held bytes are now past the limit. */
  hold(payload: Uint8Array): boolean {
    this.payloads.push(payload);
    this.bytes += payload.length;
    return this.bytes <= this.limit;
  }

  /** Everything held, in order; the holder is empty afterwards. */
  takeAll(): Uint8Array[] {
    const all = this.payloads;
    this.payloads = [];
    this.bytes = 0;
    return all;
  }
}
