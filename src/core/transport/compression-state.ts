// Which compression each direction uses, and when it starts. A stream, once
// started, lives for the whole connection (as in OpenSSH): a rekey does not
// reset it. `zlib@openssh.com` waits for user authentication.
import type { Compressor, Decompressor } from '../../algorithms/types.js';
import { findCompression } from '../../algorithms/compression.js';

/** Decompressed payloads larger than this are refused (a zip-bomb guard). */
export const MAX_PAYLOAD = 256 * 1024 + 1024;

export class CompressionState {
  private compressor: Compressor | null = null;
  private decompressor: Decompressor | null = null;
  private outgoing = 'none';
  private incoming = 'none';
  private authenticated = false;

  /** New outgoing keys took effect with this compression method. */
  setOutgoing(name: string): void {
    this.outgoing = name;
    this.update();
  }

  setIncoming(name: string): void {
    this.incoming = name;
    this.update();
  }

  setAuthenticated(): void {
    this.authenticated = true;
    this.update();
  }

  /** True once outgoing payloads are being compressed. */
  get active(): boolean {
    return this.compressor !== null;
  }

  compress(payload: Uint8Array): Uint8Array {
    return this.compressor ? this.compressor.compress(payload) : payload;
  }

  decompress(payload: Uint8Array): Uint8Array {
    return this.decompressor ? this.decompressor.decompress(payload, MAX_PAYLOAD) : payload;
  }

  private update(): void {
    const active = (name: string) => {
      const alg = findCompression(name);
      return alg && (!alg.delayed || this.authenticated) ? alg : null;
    };
    this.compressor ??= active(this.outgoing)?.createCompressor() ?? null;
    this.decompressor ??= active(this.incoming)?.createDecompressor() ?? null;
  }
}
