// The exchange hash H shared by every method (RFC 4253 §8, RFC 5656 §4,
// RFC 4419 §3, RFC 8731 §3.1): the common prefix is always the same, only the
// method's own values between K_S and K differ.
import { createHash } from 'node:crypto';
import { KeyExchangeError } from '../../errors.js';
import { Writer } from '../../wire/writer.js';
import type { HashName, KexContext, Signer } from '../types.js';

export function digestFunction(hash: HashName): (parts: readonly Uint8Array[]) => Uint8Array {
  return (parts) => {
    const h = createHash(hash);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  };
}

/**
 * Bytes beyond the KEXINITs and host key that H's input may take: two version
 * lines (255 bytes at most each) and the largest method values (GEX with an
 * 8192-bit group: p, g, e and f, ~3.1 KiB; sntrup761x25519 and
 * mlkem768x25519: ~2.3 KiB).
 */
const METHOD_ROOM = 4096;

/**
 * H = HASH(V_C || V_S || I_C || I_S || K_S || method values || K), each of the
 * first five as an SSH string. The KEXINIT payloads are taken as given (they start
 * with the message number 20, which is what RFC 4253 means by "payload").
 * `sharedSecret` is K already encoded (mpint or string), so it goes in raw.
 */
export function exchangeHash(
  digest: (parts: readonly Uint8Array[]) => Uint8Array,
  ctx: KexContext,
  hostKeyBlob: Uint8Array,
  methodValues: (w: Writer) => void,
  sharedSecret: Uint8Array,
): Uint8Array {
  // Room for the two version lines and the method's values as well, so the
  // writer is allocated once: 1 KiB was too little for the post-quantum
  // hybrids (two values of ~1.1 KiB each) and DH groups of 4096 bits and more.
  const w = new Writer(METHOD_ROOM + ctx.clientKexInit.length + ctx.serverKexInit.length + hostKeyBlob.length);
  w.string(ctx.clientVersion).string(ctx.serverVersion).string(ctx.clientKexInit).string(ctx.serverKexInit).string(hostKeyBlob);
  methodValues(w);
  return digest([w.finish(), sharedSecret]);
}

/** K as an mpint from its unsigned big-endian bytes (ECDH, DH, curve25519). */
export function mpintSecret(magnitude: Uint8Array): Uint8Array {
  return new Writer(magnitude.length + 8).mpintFromBytes(magnitude).finish();
}

/** K as a string (the hybrid KEMs hash their combined secret and send it this way). */
export function stringSecret(bytes: Uint8Array): Uint8Array {
  return new Writer(bytes.length + 4).string(bytes).finish();
}

/** The server's host key and signature algorithm, which the transport must supply. */
export function serverHostKey(ctx: KexContext): { hostKey: Signer; algorithm: string } {
  if (!ctx.hostKey || !ctx.hostKeyAlgorithm) {
    throw new KeyExchangeError('server key exchange started without a host key and host key algorithm');
  }
  return { hostKey: ctx.hostKey, algorithm: ctx.hostKeyAlgorithm };
}

export function signExchangeHash(ctx: KexContext, h: Uint8Array): { hostKeyBlob: Uint8Array; signature: Uint8Array } {
  const { hostKey, algorithm } = serverHostKey(ctx);
  let signature: Uint8Array;
  try {
    signature = hostKey.sign(algorithm, h);
  } catch (err) {
    if (err instanceof KeyExchangeError) throw err;
    throw new KeyExchangeError(`host key cannot sign with ${algorithm}`, undefined, { cause: err });
  }
  return { hostKeyBlob: hostKey.publicBlob, signature };
}
