// The server's half of OpenSSH's host key rotation (PROTOCOL, section
// "hostkeys-00@openssh.com"): after a login the server tells the client every
// plain host key it has (`hostkeys-00@openssh.com`, no reply wanted), and
// when the client asks (`hostkeys-prove-00@openssh.com`) it proves it holds
// the private half of each key named, by signing
//   string "hostkeys-prove-00@openssh.com" || string session_id || string key
// with it. A client running UpdateHostKeys then adds the proven keys to its
// known_hosts and drops the ones the server no longer has. The client's half
// is src/client/host-key-update.ts.
import type { Signer } from '../algorithms/types.js';
import { SIGNATURE_ALGORITHMS } from '../keys/signature.js';
import { isCertificateType, plainSignatureAlgorithm } from '../keys/certificate.js';
import type { GlobalRequestAnswer } from '../io/node/registries.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export const HOSTKEYS_REQUEST = 'hostkeys-00@openssh.com';
export const HOSTKEYS_PROVE_REQUEST = 'hostkeys-prove-00@openssh.com';

/**
 * hostkeys-prove-00 requests answered per connection: ssh sends one (after
 * the announcement), and each answer is a private-key operation per host key
 * (~2 ms for RSA-3072) on the event loop all connections share.
 */
export const MAX_PROOF_REQUESTS = 4;

/** Longer than any host key blob (a 16384-bit RSA key is about 2 KiB). */
const MAX_KEY_BLOB = 16 * 1024;

/** The host keys to announce: plain keys only (no certificates), each once, in the configured order. */
export function announcedHostKeys(hostKeys: readonly Signer[]): Signer[] {
  const out: Signer[] = [];
  for (const k of hostKeys) {
    if (isCertificateType(k.keyType)) continue;
    if (out.some((o) => sameBytes(o.publicBlob, k.publicBlob))) continue;
    out.push(k);
  }
  return out;
}

/** The data of a `hostkeys-00@openssh.com` request: `string key_blob` per key. */
export function hostKeysAnnouncement(keys: readonly Signer[]): Uint8Array {
  const w = new Writer(keys.reduce((n, k) => n + 4 + k.publicBlob.length, 0));
  for (const k of keys) w.string(k.publicBlob);
  return w.finish().slice();
}

/** What a hostkeys-prove-00 signature covers. */
export function hostKeyProofPayload(sessionId: Uint8Array, keyBlob: Uint8Array): Uint8Array {
  return new Writer(64 + sessionId.length + keyBlob.length).string(HOSTKEYS_PROVE_REQUEST).string(sessionId).string(keyBlob).finish().slice();
}

/**
 * The signature algorithm of a proof by a key of `keyType`: the key's own,
 * except for RSA, which signs with the exchange's algorithm when the
 * exchange used an RSA host key (a certificate's plain algorithm for an RSA
 * certificate), else with rsa-sha2-512, never SHA-1 unasked. The client
 * verifies with the same rule.
 */
export function proofSignatureAlgorithm(keyType: string, kexHostKeyAlgorithm: string): string {
  if (keyType !== 'ssh-rsa') return keyType;
  const plain = plainSignatureAlgorithm(kexHostKeyAlgorithm) ?? kexHostKeyAlgorithm;
  return SIGNATURE_ALGORITHMS[plain]?.keyType === 'ssh-rsa' ? plain : 'rsa-sha2-512';
}

/**
 * Answers a hostkeys-prove-00 request: `data` is `string key_blob` per key;
 * the answer is success with `string signature` per key, in the same order.
 * Failure (as sshd) for a key we do not announce, and also for malformed
 * data, a key named twice or more keys than we have: a client asks only
 * about keys it was told of, so each request costs at most one signature
 * per host key.
 */
export function answerHostKeysProve(keys: readonly Signer[], data: Uint8Array, sessionId: Uint8Array, kexHostKeyAlgorithm: string): GlobalRequestAnswer {
  const asked: Signer[] = [];
  try {
    const r = new Reader(data, 0, HOSTKEYS_PROVE_REQUEST);
    while (r.remaining > 0) {
      if (asked.length >= keys.length) return false;
      const blob = r.string('host key', MAX_KEY_BLOB);
      const key = keys.find((k) => sameBytes(k.publicBlob, blob));
      if (!key || asked.includes(key)) return false;
      asked.push(key);
    }
  } catch {
    return false;
  }
  const w = new Writer(1024 * Math.max(1, asked.length));
  for (const key of asked) {
    w.string(key.sign(proofSignatureAlgorithm(key.keyType, kexHostKeyAlgorithm), hostKeyProofPayload(sessionId, key.publicBlob)));
  }
  return { success: true, data: w.finish().slice() };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
