// The shapes every algorithm registry entry has. The transport core only ever
// talks to algorithms through these interfaces, so it never touches node:crypto
// itself (see docs/ARCHITECTURE.md).

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Source of randomness handed down from the session (seedable in tests). */
export type RandomSource = (length: number) => Uint8Array;

export interface AlgorithmEntry {
  /** The name on the wire, e.g. `aes128-gcm@openssh.com`. */
  readonly name: string;
  /** False for legacy algorithms (SHA-1, CBC, small groups): off unless named. */
  readonly secure: boolean;
}

// ---------------------------------------------------------------- ciphers

/**
 * One direction of an AEAD packet cipher (AES-GCM, chacha20-poly1305). It owns
 * the whole packet including the length field. Sequence numbers are the
 * transport's uint32 packet counters.
 */
export interface AeadPacketCipher {
  readonly kind: 'aead';
  /** Padding alignment for `padding_length || payload || padding` (length field excluded). */
  readonly blockSize: number;
  readonly tagLength: number;
  /**
   * `packet` is the plaintext `uint32 packet_length || byte padding_length || payload || padding`.
   * Returns the bytes to put on the wire: `packet.length + tagLength` bytes,
   * in memory of their own, never a view of `packet`: the transport frames
   * every connection's packets in one shared buffer (packet-protection.ts).
   */
  seal(seq: number, packet: Uint8Array): Uint8Array;
  /** packet_length from the first 4 wire bytes of a packet (decrypting them if the cipher hides it). Pure. */
  peekLength(seq: number, head: Uint8Array): number;
  /**
   * `wire` is exactly `4 + packet_length + tagLength` received bytes. Returns the plaintext
   * packet (length field included). Throws `MacError` when the tag does not verify.
   * The result must be memory of its own, never a view of `wire`: the
   * transport reuses the buffer that held `wire` for the next packet.
   */
  open(seq: number, wire: Uint8Array): Uint8Array;
  /**
   * Optional faster forms for ciphers whose natural output has no room for the
   * length field: `openBody` returns only `padding_length || payload || padding`
   * (same checks as `open`), and `sealParts` returns the wire bytes as chunks to
   * be sent in order. The transport prefers them when present; both avoid a
   * 32 KiB copy per packet.
   */
  openBody?(seq: number, wire: Uint8Array): Uint8Array;
  sealParts?(seq: number, packet: Uint8Array): readonly Uint8Array[];
}

/**
 * One direction of a classic stream/block cipher (AES-CTR, AES-CBC), used with a
 * separate MAC. Keeps its chaining state between calls: each call continues the
 * keystream/chain where the previous one stopped. Inputs are block-aligned.
 */
export interface BlockPacketCipher {
  readonly kind: 'block';
  readonly blockSize: number;
  /** Returns new memory (the transport may reuse `data`'s buffer afterwards). */
  update(data: Uint8Array): Uint8Array;
}

export interface CipherAlgorithm extends AlgorithmEntry {
  readonly keyLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  /** AEAD ciphers ignore the negotiated MAC (RFC 5647, OpenSSH PROTOCOL). */
  readonly aead: boolean;
  create(key: Uint8Array, iv: Uint8Array, direction: 'encrypt' | 'decrypt'): AeadPacketCipher | BlockPacketCipher;
}

// ---------------------------------------------------------------- MACs

export interface PacketMac {
  readonly length: number;
  /** MAC over `uint32 seq || data` (UMAC: nonce = uint64 seq, big-endian). */
  compute(seq: number, data: Uint8Array): Uint8Array;
}

export interface MacAlgorithm extends AlgorithmEntry {
  readonly keyLength: number;
  readonly length: number;
  /** Encrypt-then-MAC: packet length in clear, MAC over the ciphertext. */
  readonly etm: boolean;
  create(key: Uint8Array): PacketMac;
}

// ---------------------------------------------------------------- compression

export interface Compressor {
  /** Compresses one payload with a sync flush so the peer can inflate it alone. */
  compress(payload: Uint8Array): Uint8Array;
}
export interface Decompressor {
  /** Throws a ProtocolError for corrupt data or output above `limit` bytes. */
  decompress(payload: Uint8Array, limit: number): Uint8Array;
}
export interface CompressionAlgorithm extends AlgorithmEntry {
  /** `zlib@openssh.com` starts only after user authentication succeeds. */
  readonly delayed: boolean;
  /** Null for `none`. */
  createCompressor(): Compressor | null;
  createDecompressor(): Decompressor | null;
}

// ---------------------------------------------------------------- host keys

/** A host or user key that can sign (the private half stays inside). */
export interface Signer {
  /** Key type as in the public key blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  readonly keyType: string;
  /** The SSH public key blob (RFC 4253 §6.6). */
  readonly publicBlob: Uint8Array;
  /** Signs with the given signature algorithm; returns the signature blob `string alg || string sig`. */
  sign(algorithm: string, data: Uint8Array): Uint8Array;
}

export interface HostKeyAlgorithm extends AlgorithmEntry {
  /** Key type of the blobs this algorithm signs with (`ssh-rsa` for `rsa-sha2-256`). */
  readonly keyType: string;
  /**
   * Throws ProtocolError, saying why, when `publicBlob` is not a well-formed
   * key of `keyType` within the accepted sizes (RSA: modulus, exponent). Cheap:
   * no signature or big-number work, so it can run before anything costly.
   */
  checkKey(publicBlob: Uint8Array): void;
  /** True when `signatureBlob` is a valid signature of `data` by `publicBlob` with this algorithm. Never throws. */
  verify(publicBlob: Uint8Array, data: Uint8Array, signatureBlob: Uint8Array): boolean;
}

// ---------------------------------------------------------------- key exchange

/** What a key exchange method needs from the transport. */
export interface KexContext {
  readonly random: RandomSource;
  /** Version lines without CR LF, and the two KEXINIT payloads, for the exchange hash. */
  readonly clientVersion: string;
  readonly serverVersion: string;
  readonly clientKexInit: Uint8Array;
  readonly serverKexInit: Uint8Array;
  /** Server side only: the host key chosen for this exchange and the signature algorithm. */
  readonly hostKey?: Signer;
  readonly hostKeyAlgorithm?: string;
  /** Client side, group exchange: preferred sizes (RFC 4419). */
  readonly groupSizes?: { readonly min: number; readonly preferred: number; readonly max: number };
}

export interface KexOutcome {
  /** The shared secret already encoded as it enters the hash (mpint, or string for the hybrid KEMs). */
  readonly sharedSecret: Uint8Array;
  readonly exchangeHash: Uint8Array;
  /** Server host key blob (K_S) and its signature over the exchange hash. */
  readonly hostKeyBlob: Uint8Array;
  readonly signature: Uint8Array;
}

export interface KexStep {
  /** Payloads (starting with their message number) to send, in order. */
  readonly send: readonly Uint8Array[];
  /** Set when the exchange is complete on this side. */
  readonly outcome?: KexOutcome;
}

/**
 * One run of a key exchange method on one side: a tiny sans-I/O machine fed
 * with the method-specific messages (numbers 30..49).
 */
export interface KexExchange {
  start(): KexStep;
  /** Throws KeyExchangeError for bad peer values, ProtocolError for malformed or unexpected messages. */
  handle(payload: Uint8Array): KexStep;
}

export interface KexAlgorithm extends AlgorithmEntry {
  readonly hash: HashName;
  /** Hash function of the method, used for the exchange hash and key derivation. */
  digest(parts: readonly Uint8Array[]): Uint8Array;
  createClient(ctx: KexContext): KexExchange;
  createServer(ctx: KexContext): KexExchange;
}
