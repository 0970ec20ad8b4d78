// Security-key ("sk-") public keys and signatures, per OpenSSH's PROTOCOL.u2f.
// A FIDO token holds the private half; the public blob is an ordinary Ed25519
// or P-256 key followed by the application string the token was enrolled for.
// The token signs sha256(application) || flags || counter || sha256(message)
// and the signature blob carries the flags and counter after the signature.
// A P-256 token used through a web browser (WebAuthn) signs instead
// sha256(application) || flags || counter || extensions || sha256(clientDataJSON),
// where clientDataJSON must begin with the type, the message as challenge and
// the origin; such signatures are named webauthn-sk-ecdsa-sha2-nistp256@openssh.com.
// Only verification lives here: signing needs the token.
import { createHash } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { checkPublicKey } from './blob.js';
import { verifySignature } from './signature.js';

export type SecurityKeyType = 'sk-ssh-ed25519@openssh.com' | 'sk-ecdsa-sha2-nistp256@openssh.com';

export const SECURITY_KEY_TYPES: readonly SecurityKeyType[] = Object.freeze([
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** Authenticator flag: the user touched the token (user presence). */
export const SK_USER_PRESENT = 0x01;
/** Authenticator flag: the token verified the user (PIN or biometric), as `verify-required` asks. */
export const SK_USER_VERIFIED = 0x04;

/** Application strings are short (`ssh:` by default); this bounds what a blob may claim. */
const MAX_APPLICATION_BYTES = 1024;
/** Bounds the origin, clientDataJSON and extensions of a WebAuthn signature (browsers send a few hundred bytes). */
const MAX_WEBAUTHN_FIELD_BYTES = 16 * 1024;
/** Authenticator flags WebAuthn signatures are checked for: attested credential data (never in an assertion), extension data. */
const FLAG_ATTESTED_DATA = 0x40;
const FLAG_EXTENSION_DATA = 0x80;

export function isSecurityKeyType(type: string): type is SecurityKeyType {
  return type === 'sk-ssh-ed25519@openssh.com' || type === 'sk-ecdsa-sha2-nistp256@openssh.com';
}

export interface SecurityKeyPublicKey {
  readonly type: SecurityKeyType;
  /** The application (relying party) the token was enrolled for, usually `ssh:`. */
  readonly application: string;
  /** The same key as a plain `ssh-ed25519` / `ecdsa-sha2-nistp256` blob, which the token's signatures verify under. */
  readonly innerBlob: Uint8Array;
}

/** Parses an sk- public key blob, checking the inner key as a plain one; malformed input is a ProtocolError. */
export function parseSecurityKeyBlob(blob: Uint8Array): SecurityKeyPublicKey {
  const r = new Reader(blob, 0, 'security key');
  const type = r.text('key type', 256);
  const inner = new Writer(160);
  if (type === 'sk-ssh-ed25519@openssh.com') {
    inner.string('ssh-ed25519').string(r.string('Ed25519 key', 64));
  } else if (type === 'sk-ecdsa-sha2-nistp256@openssh.com') {
    inner.string('ecdsa-sha2-nistp256').string(r.text('curve identifier', 64)).string(r.string('EC point', 256));
  } else {
    throw new ProtocolError(`not a security key type: ${JSON.stringify(type)}`);
  }
  const application = r.text('application', MAX_APPLICATION_BYTES);
  r.end();
  const innerBlob = inner.finish().slice();
  checkPublicKey(innerBlob);
  return { type, application, innerBlob };
}

/** The signature algorithm of a WebAuthn assertion by an sk-ecdsa key. */
export const WEBAUTHN_SK_ECDSA = 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com';

/** A WebAuthn signature's extra fields (OpenSSH's webauthn-sk-ecdsa format). */
export interface WebAuthnSignatureFields {
  /** The web origin the browser asserted for, e.g. `https://example.com`. */
  readonly origin: string;
  /** The clientDataJSON the browser built; its SHA-256 is what the token signed. */
  readonly clientData: Uint8Array;
  /** Authenticator extension data (CBOR), signed as is; empty unless the ED flag is set. */
  readonly extensions: Uint8Array;
}

export interface SecurityKeySignature {
  /** The key type the signature is for (a WebAuthn one is for `sk-ecdsa-sha2-nistp256@openssh.com`). */
  readonly type: SecurityKeyType;
  /** Present for a `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` signature. */
  readonly webauthn?: WebAuthnSignatureFields;
  /** The inner signature as a plain SSH signature blob (`string algorithm || string signature`). */
  readonly innerSignature: Uint8Array;
  /** Authenticator flags: SK_USER_PRESENT, SK_USER_VERIFIED, others as the token set them. */
  readonly flags: number;
  /** The token's signature counter. */
  readonly counter: number;
}

/** Parses an sk- signature blob (without verifying it); malformed input is a ProtocolError. */
export function parseSecurityKeySignature(signatureBlob: Uint8Array): SecurityKeySignature {
  const r = new Reader(signatureBlob, 0, 'security key signature');
  const algorithm = r.text('signature algorithm', 256);
  const isWebAuthn = algorithm === WEBAUTHN_SK_ECDSA;
  if (!isSecurityKeyType(algorithm) && !isWebAuthn) throw new ProtocolError(`not a security key signature: ${JSON.stringify(algorithm)}`);
  const type: SecurityKeyType = isWebAuthn ? 'sk-ecdsa-sha2-nistp256@openssh.com' : (algorithm as SecurityKeyType);
  const sig = r.string('signature', 256);
  const flags = r.byte('flags');
  const counter = r.uint32('counter');
  let webauthn: WebAuthnSignatureFields | undefined;
  if (isWebAuthn) {
    const origin = r.text('WebAuthn origin', MAX_WEBAUTHN_FIELD_BYTES);
    const clientData = r.string('WebAuthn clientData', MAX_WEBAUTHN_FIELD_BYTES);
    const extensions = r.string('WebAuthn extensions', MAX_WEBAUTHN_FIELD_BYTES);
    webauthn = { origin, clientData: clientData.slice(), extensions: extensions.slice() };
  }
  r.end();
  const plain = type === 'sk-ssh-ed25519@openssh.com' ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256';
  const innerSignature = new Writer(160).string(plain).string(sig).finish().slice();
  return webauthn ? { type, webauthn, innerSignature, flags, counter } : { type, innerSignature, flags, counter };
}

/**
 * The SHA-256 a WebAuthn token signed in place of sha256(message), once the
 * fields are checked as OpenSSH checks them: an origin without quotes, no
 * attested-data flag, the extension-data flag set exactly when there are
 * extensions, and a clientDataJSON that begins
 * `{"type":"webauthn.get","challenge":"<base64url(message)>","origin":"<origin>"`
 * (anything after, crossOrigin included, is the browser's). Null when a check fails.
 */
export function webAuthnMessageHash(message: Uint8Array, fields: WebAuthnSignatureFields, flags: number): Uint8Array | null {
  if (fields.origin.includes('"') || (flags & FLAG_ATTESTED_DATA) !== 0) return null;
  if (((flags & FLAG_EXTENSION_DATA) === 0) !== (fields.extensions.length === 0)) return null;
  const challenge = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('base64url');
  const preamble = Buffer.from(`{"type":"webauthn.get","challenge":"${challenge}","origin":"${fields.origin}"`, 'utf8');
  const clientData = Buffer.from(fields.clientData.buffer, fields.clientData.byteOffset, fields.clientData.byteLength);
  if (clientData.length < preamble.length || !clientData.subarray(0, preamble.length).equals(preamble)) return null;
  return new Uint8Array(createHash('sha256').update(clientData).digest());
}

/** The bytes a WebAuthn token signs: the application and message hashes around the flags, counter and extensions. */
export function webAuthnSignedData(application: string, flags: number, counter: number, extensions: Uint8Array, messageHash: Uint8Array): Uint8Array {
  return new Writer(69 + extensions.length)
    .raw(createHash('sha256').update(application, 'utf8').digest())
    .byte(flags)
    .uint32(counter)
    .raw(extensions)
    .raw(messageHash)
    .finish()
    .slice();
}

/** The bytes the token signs for `message` (PROTOCOL.u2f "Signature format"). */
export function securityKeySignedData(application: string, flags: number, counter: number, message: Uint8Array): Uint8Array {
  return new Writer(69)
    .raw(createHash('sha256').update(application, 'utf8').digest())
    .byte(flags)
    .uint32(counter)
    .raw(createHash('sha256').update(message).digest())
    .finish()
    .slice();
}

export interface SecurityKeyPolicy {
  /** Accept signatures made without a touch (authorized_keys `no-touch-required`). Default false. */
  readonly noTouchRequired?: boolean;
  /** Require the token to have verified the user (`verify-required`). Default false. */
  readonly verifyRequired?: boolean;
}

export type SecurityKeyVerdict =
  | { readonly valid: true; readonly flags: number; readonly counter: number }
  | {
      readonly valid: false;
      /** Why: the signature is malformed or wrong, or good but lacks a touch or user verification the policy asks for. */
      readonly reason: 'bad-signature' | 'user-presence-required' | 'user-verification-required';
    };

/**
 * Checks an sk- signature of `message` by the sk- key `publicBlob`. The
 * signature must be of the key's own type. Good signatures report the
 * token's flags and counter. Never throws.
 */
export function verifySecurityKeySignature(
  publicBlob: Uint8Array,
  message: Uint8Array,
  signatureBlob: Uint8Array,
  policy: SecurityKeyPolicy = {},
): SecurityKeyVerdict {
  let key: SecurityKeyPublicKey;
  let sig: SecurityKeySignature;
  try {
    key = parseSecurityKeyBlob(publicBlob);
    sig = parseSecurityKeySignature(signatureBlob);
  } catch {
    return { valid: false, reason: 'bad-signature' };
  }
  if (sig.type !== key.type) return { valid: false, reason: 'bad-signature' };
  let data: Uint8Array;
  if (sig.webauthn) {
    const hash = webAuthnMessageHash(message, sig.webauthn, sig.flags);
    if (!hash) return { valid: false, reason: 'bad-signature' };
    data = webAuthnSignedData(key.application, sig.flags, sig.counter, sig.webauthn.extensions, hash);
  } else {
    data = securityKeySignedData(key.application, sig.flags, sig.counter, message);
  }
  const plain = key.type === 'sk-ssh-ed25519@openssh.com' ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256';
  // ECDSA-P256 hashes `data` with SHA-256 and Ed25519 signs it whole, exactly the plain algorithms
  if (!verifySignature(key.innerBlob, plain, data, sig.innerSignature)) return { valid: false, reason: 'bad-signature' };
  // the flags are checked only once they are known to be the token's own
  if (!policy.noTouchRequired && (sig.flags & SK_USER_PRESENT) === 0) return { valid: false, reason: 'user-presence-required' };
  if (policy.verifyRequired && (sig.flags & SK_USER_VERIFIED) === 0) return { valid: false, reason: 'user-verification-required' };
  return { valid: true, flags: sig.flags, counter: sig.counter };
}
