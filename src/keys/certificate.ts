// OpenSSH certificates (`*-cert-v01@openssh.com`, PROTOCOL.certkeys, now
// draft-ietf-sshm-cert): the format, parsed and built. A certificate blob is
//
//   string  certificate type          string  key id
//   string  nonce                     string  valid principals (strings to its end)
//   ...     the key's public fields   uint64  valid after, uint64 valid before
//   uint64  serial                    string  critical options, string extensions
//   uint32  type (1 user, 2 host)     string  reserved, string signature key
//                                     string  signature (over everything before it)
//
// The key's fields are those of its plain public blob after the type name,
// so the certified key is rebuilt by putting the plain type name in front.
// Checking a certificate against a CA, a time and a principal is in
// certificate-verify.ts.
import { ProtocolError } from '../errors.js';
import { f } from '../messages/schema.js';
import type { Field } from '../messages/struct.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { blobKeyType, checkPublicKey, parseOpenSshPublicKeyLine, formatOpenSshPublicKeyLine } from './blob.js';
import type { RandomSource } from '../algorithms/types.js';
import type { AuthSigner, KeySigner } from './signer.js';

export type CertificateProblem =
  /** The blob or line is not a well-formed certificate. */
  | 'malformed'
  /** A certificate type or CA key type Nacre does not handle. */
  | 'unsupported'
  /** The CA that signed it is not one the caller trusts. */
  | 'untrusted-ca'
  /** The CA signed with an algorithm the caller does not accept (by default `ssh-rsa`, SHA-1). */
  | 'disallowed-signature-algorithm'
  /** The CA signature does not verify. */
  | 'bad-signature'
  /** A host certificate where a user one was wanted, or the reverse. */
  | 'wrong-type'
  | 'not-yet-valid'
  | 'expired'
  /** The certificate lists no principals; OpenSSH accepts no such certificate. */
  | 'no-principals'
  | 'wrong-principal'
  /** A critical option the verifier does not know (or any, on a host certificate). */
  | 'unknown-critical-option'
  /** The peer's address is outside the `source-address` option, or none was given to check. */
  | 'source-address';

/**
 * A certificate is unusable. `problem` says why; `reason` (inherited) is the
 * SSH disconnect code, as for every Nacre error.
 */
export class CertificateError extends ProtocolError {
  readonly problem: CertificateProblem;
  constructor(message: string, problem: CertificateProblem, options?: { cause?: unknown }) {
    super(message, undefined, options);
    this.problem = problem;
  }
}

export type CertificateKind = 'user' | 'host';

/** The `uint32 type` values. */
export const CERT_TYPE_CODES: Readonly<Record<CertificateKind, number>> = { user: 1, host: 2 };

/** Certificate type name to the type name of the key it certifies. */
export const CERTIFICATE_KEY_TYPES: Readonly<Record<string, string>> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'sk-ssh-ed25519-cert-v01@openssh.com': 'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com': 'sk-ecdsa-sha2-nistp256@openssh.com',
};

/** The certificate type for a plain key type, or null when there is none. */
export function certificateTypeFor(keyType: string): string | null {
  for (const [cert, key] of Object.entries(CERTIFICATE_KEY_TYPES)) if (key === keyType) return cert;
  return null;
}

export function isCertificateType(name: string): boolean {
  return Object.hasOwn(CERTIFICATE_KEY_TYPES, name);
}

/**
 * The signature algorithms a user certificate can authenticate with: the
 * certificate type for Ed25519 and ECDSA, and for RSA the SHA-2 names
 * (`rsa-sha2-512-cert-v01@openssh.com`, RFC 8332 §3.3's scheme) before the
 * SHA-1 `ssh-rsa-cert-v01@openssh.com`.
 */
export function certificateSignatureAlgorithms(certType: string): string[] {
  if (certType === 'ssh-rsa-cert-v01@openssh.com') {
    return ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com'];
  }
  return isCertificateType(certType) ? [certType] : [];
}

/** The plain signature algorithm behind a certificate signature algorithm name. */
export function plainSignatureAlgorithm(certAlgorithm: string): string | null {
  if (certAlgorithm === 'rsa-sha2-512-cert-v01@openssh.com') return 'rsa-sha2-512';
  if (certAlgorithm === 'rsa-sha2-256-cert-v01@openssh.com') return 'rsa-sha2-256';
  return CERTIFICATE_KEY_TYPES[certAlgorithm] ?? null;
}

/** A critical option or extension: its name and the content of its data string. */
export interface CertificateOption {
  readonly name: string;
  /** Empty for a flag; otherwise, for every option OpenSSH defines, a `string` holding the value. */
  readonly data: Uint8Array;
}

export interface OpenSshCertificate {
  /** `ssh-ed25519-cert-v01@openssh.com` and so on. */
  readonly certType: string;
  /** The type of the certified key (`ssh-ed25519`). */
  readonly keyType: string;
  readonly nonce: Uint8Array;
  /** The certified key's plain public blob. */
  readonly publicKey: Uint8Array;
  readonly serial: bigint;
  readonly kind: CertificateKind;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** Seconds since the epoch; 0 is "always". */
  readonly validAfter: bigint;
  /** Seconds since the epoch; 2^64-1 is "forever". */
  readonly validBefore: bigint;
  /** In the order the certificate lists them. */
  readonly criticalOptions: readonly CertificateOption[];
  readonly extensions: readonly CertificateOption[];
  readonly reserved: Uint8Array;
  /** The CA's public key blob. */
  readonly signatureKey: Uint8Array;
  /** The CA's signature blob (`string algorithm || string signature`). */
  readonly signature: Uint8Array;
  /** The algorithm named in the signature blob (`rsa-sha2-512`, `ssh-ed25519`, ...). */
  readonly signatureAlgorithm: string;
  /** The bytes the CA signed: the whole blob up to the signature field. */
  readonly signedData: Uint8Array;
  /** The whole certificate blob, as it goes in a `-cert.pub` line or a userauth request. */
  readonly blob: Uint8Array;
}

/** The largest certificate blob accepted (an SSH packet holds no more). */
export const MAX_CERTIFICATE_BYTES = 256 * 1024;
/** OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS. */
export const MAX_CERTIFICATE_PRINCIPALS = 256;
export const VALID_FOREVER = 0xffff_ffff_ffff_ffffn;

const TEXT_LIMIT = 64 * 1024;
const option = f.struct({ name: f.text(1024), data: f.bytes(TEXT_LIMIT) }, 'option');
const optionList = f.wrapped(f.repeated(option), TEXT_LIMIT);

/** The public fields of each certified key type, between the nonce and the serial. */
const KEY_FIELDS: Readonly<Record<string, Field<unknown>>> = {
  'ssh-ed25519': f.struct({ key: f.bytes(64) }),
  'ecdsa-sha2-nistp256': f.struct({ curve: f.text(64), point: f.bytes(256) }),
  'ecdsa-sha2-nistp384': f.struct({ curve: f.text(64), point: f.bytes(256) }),
  'ecdsa-sha2-nistp521': f.struct({ curve: f.text(64), point: f.bytes(256) }),
  'ssh-rsa': f.struct({ e: f.bytes(2049), n: f.bytes(2049) }),
  'sk-ssh-ed25519@openssh.com': f.struct({ key: f.bytes(64), application: f.text(1024) }),
  'sk-ecdsa-sha2-nistp256@openssh.com': f.struct({ curve: f.text(64), point: f.bytes(256), application: f.text(1024) }),
};

/** Everything after the key's fields up to the signature. */
const CERT_BODY = f.struct(
  {
    serial: f.uint64(),
    type: f.uint32(),
    keyId: f.text(TEXT_LIMIT),
    principals: f.wrapped(f.repeated(f.text(TEXT_LIMIT), MAX_CERTIFICATE_PRINCIPALS), TEXT_LIMIT),
    validAfter: f.uint64(),
    validBefore: f.uint64(),
    criticalOptions: optionList,
    extensions: optionList,
    reserved: f.bytes(TEXT_LIMIT),
    signatureKey: f.bytes(TEXT_LIMIT),
  },
  'certificate',
);

/** Checks the plain fields of a security-key public blob, which blob.ts does not parse. */
function checkSkKey(keyType: string, fields: Record<string, unknown>): void {
  if (keyType === 'sk-ssh-ed25519@openssh.com') {
    if ((fields.key as Uint8Array).length !== 32) throw new ProtocolError('sk-ssh-ed25519 key is not 32 bytes');
  } else {
    const point = fields.point as Uint8Array;
    if (fields.curve !== 'nistp256' || point.length !== 65 || point[0] !== 0x04) throw new ProtocolError('sk-ecdsa key is not an uncompressed P-256 point');
  }
}

/**
 * Parses a certificate blob. Checks its structure only: whether the CA is
 * trusted and its signature good is `verifyCertificate`'s job. Anything
 * wrong is a CertificateError (`malformed` or `unsupported`).
 */
export function parseCertificate(blob: Uint8Array): OpenSshCertificate {
  if (blob.length > MAX_CERTIFICATE_BYTES) throw new CertificateError(`certificate of ${blob.length} bytes is larger than ${MAX_CERTIFICATE_BYTES}`, 'malformed');
  try {
    const r = new Reader(blob, 0, 'certificate');
    const certType = r.text('certificate type', 256);
    const keyType = CERTIFICATE_KEY_TYPES[certType];
    if (keyType === undefined) throw new CertificateError(`unsupported certificate type ${JSON.stringify(certType.slice(0, 80))}`, 'unsupported');
    const nonce = r.string('nonce', 1024);
    const keyStart = r.position;
    const fields = KEY_FIELDS[keyType]!.read(r, 'key') as Record<string, unknown>;
    const publicKey = new Writer(r.position - keyStart + 64).string(keyType).raw(blob.subarray(keyStart, r.position)).finish().slice();
    if (keyType.startsWith('sk-')) checkSkKey(keyType, fields);
    else checkPublicKey(publicKey);
    const body = CERT_BODY.read(r, '');
    const signedData = blob.subarray(0, r.position);
    const signature = r.string('signature', TEXT_LIMIT);
    r.end();
    const kind = body.type === 1 ? 'user' : body.type === 2 ? 'host' : null;
    if (kind === null) throw new ProtocolError(`certificate type ${body.type} is neither user (1) nor host (2)`);
    const caType = blobKeyType(body.signatureKey);
    if (isCertificateType(caType)) throw new ProtocolError('the signature key is itself a certificate');
    const sig = new Reader(signature, 0, 'certificate signature');
    const signatureAlgorithm = sig.text('algorithm', 256);
    sig.string('signature', TEXT_LIMIT);
    sig.end();
    return Object.freeze({
      certType,
      keyType,
      nonce: nonce.slice(),
      publicKey,
      serial: body.serial,
      kind,
      keyId: body.keyId,
      principals: Object.freeze(body.principals),
      validAfter: body.validAfter,
      validBefore: body.validBefore,
      criticalOptions: Object.freeze(body.criticalOptions.map((o) => Object.freeze({ name: o.name, data: o.data.slice() }))),
      extensions: Object.freeze(body.extensions.map((o) => Object.freeze({ name: o.name, data: o.data.slice() }))),
      reserved: body.reserved.slice(),
      signatureKey: body.signatureKey.slice(),
      signature: signature.slice(),
      signatureAlgorithm,
      signedData: signedData.slice(),
      blob: blob.slice(),
    });
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    if (err instanceof ProtocolError) throw new CertificateError(`malformed certificate: ${err.message}`, 'malformed', { cause: err });
    throw err;
  }
}

/**
 * The text value of an option whose data is one `string` (`force-command`,
 * `source-address`); null when the data is anything else (a flag, or bytes
 * left over).
 */
export function certificateOptionValue(option: CertificateOption): string | null {
  try {
    const r = new Reader(option.data, 0, option.name);
    const v = r.text('value', TEXT_LIMIT);
    r.end();
    return v;
  } catch {
    return null;
  }
}

/** A `-cert.pub` line: the certificate and the comment after it. */
export interface CertificateLine {
  readonly certificate: OpenSshCertificate;
  readonly comment: string;
}

/** Parses `ssh-ed25519-cert-v01@openssh.com AAAA... comment`. */
export function parseCertificateLine(line: string): CertificateLine {
  let parsed;
  try {
    parsed = parseOpenSshPublicKeyLine(line);
  } catch (err) {
    throw new CertificateError(`not a certificate line: ${(err as Error).message}`, 'malformed', { cause: err });
  }
  if (!isCertificateType(parsed.type)) throw new CertificateError(`not a certificate: the line holds a ${parsed.type.slice(0, 80)} key`, 'unsupported');
  return { certificate: parseCertificate(parsed.blob), comment: parsed.comment };
}

export function formatCertificateLine(certificate: OpenSshCertificate, comment = ''): string {
  return formatOpenSshPublicKeyLine(certificate.blob, comment);
}

/** Option values for signing: a string, or `true` for a flag (empty data). */
export type CertificateOptionValues = Readonly<Record<string, string | true>>;

/** The extensions `ssh-keygen -s` gives a user certificate unless told otherwise. */
export const DEFAULT_USER_EXTENSIONS: CertificateOptionValues = Object.freeze({
  'permit-X11-forwarding': true,
  'permit-agent-forwarding': true,
  'permit-port-forwarding': true,
  'permit-pty': true,
  'permit-user-rc': true,
});

export interface CertificateRequest {
  /** The plain public key blob to certify. */
  readonly publicKey: Uint8Array;
  readonly kind: CertificateKind;
  /**
   * Where the 32-byte nonce comes from (as ssh-keygen's): random bytes at the
   * front keep a CA from ever signing data an attacker chose in full.
   */
  readonly random: RandomSource;
  readonly serial?: bigint;
  readonly keyId?: string;
  readonly principals?: readonly string[];
  /** Seconds since the epoch; default 0 (always). */
  readonly validAfter?: bigint;
  /** Seconds since the epoch; default VALID_FOREVER. */
  readonly validBefore?: bigint;
  /** `force-command`, `source-address`, `verify-required`; host certificates take none. */
  readonly criticalOptions?: CertificateOptionValues;
  /** Default: DEFAULT_USER_EXTENSIONS for a user certificate, none for a host one. */
  readonly extensions?: CertificateOptionValues;
  /** The CA's signature algorithm; default the CA's best (`rsa-sha2-512` for RSA). */
  readonly signatureAlgorithm?: string;
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const NONCE_BYTES = 32;

function checkUint64(what: string, v: bigint): bigint {
  if (v < 0n || v > UINT64_MAX) throw new RangeError(`${what} ${v} is outside the uint64 range`);
  return v;
}

/** Options sorted by name, as PROTOCOL.certkeys asks (a record cannot hold a name twice). */
function encodeOptions(values: CertificateOptionValues): Uint8Array {
  const w = new Writer(128);
  for (const name of Object.keys(values).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name === '') throw new RangeError('a certificate option needs a name');
    const v = values[name]!;
    w.string(name);
    w.string(v === true ? new Uint8Array(0) : new Writer(v.length + 8).string(v).finish());
  }
  return w.finish().slice();
}

/**
 * Builds and signs a certificate for `request.publicKey` with the CA key
 * `ca`, as `ssh-keygen -s` does. Throws RangeError for a request that could
 * not make a valid certificate, and CertificateError (`malformed`) when the
 * key to certify is not a valid public key blob.
 */
export function signCertificate(request: CertificateRequest, ca: KeySigner): OpenSshCertificate {
  const keyType = blobKeyType(request.publicKey);
  const certType = certificateTypeFor(keyType);
  if (certType === null) throw new RangeError(`cannot certify a key of type ${keyType}`);
  const nonce = request.random(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`the random source gave ${nonce.length} bytes, not ${NONCE_BYTES}`);
  const principals = request.principals ?? [];
  if (principals.length > MAX_CERTIFICATE_PRINCIPALS) throw new RangeError(`more than ${MAX_CERTIFICATE_PRINCIPALS} principals`);
  const validAfter = checkUint64('validAfter', request.validAfter ?? 0n);
  const validBefore = checkUint64('validBefore', request.validBefore ?? VALID_FOREVER);
  if (validAfter >= validBefore) throw new RangeError('validAfter must come before validBefore');
  const critical = request.criticalOptions ?? {};
  if (request.kind === 'host' && Object.keys(critical).length > 0) throw new RangeError('host certificates take no critical options');
  const extensions = request.extensions ?? (request.kind === 'user' ? DEFAULT_USER_EXTENSIONS : {});
  const algorithm = request.signatureAlgorithm ?? ca.algorithms[0];
  if (algorithm === undefined || !ca.algorithms.includes(algorithm)) throw new RangeError(`the CA key cannot sign with ${algorithm ?? '(no algorithm)'}`);

  // the key's fields are its public blob after the type name
  const keyReader = new Reader(request.publicKey, 0, 'public key');
  keyReader.text('key type', 256);
  const keyFields = keyReader.rest();
  const principalList = new Writer(64);
  for (const p of principals) principalList.string(p);
  const w = new Writer(1024)
    .string(certType)
    .string(nonce)
    .raw(keyFields)
    .uint64(checkUint64('serial', request.serial ?? 0n))
    .uint32(CERT_TYPE_CODES[request.kind])
    .string(request.keyId ?? '')
    .string(principalList.finish())
    .uint64(validAfter)
    .uint64(validBefore)
    .string(encodeOptions(critical))
    .string(encodeOptions(extensions))
    .string(new Uint8Array(0))
    .string(ca.publicBlob);
  const signed = w.finish().slice();
  const signature = ca.sign(algorithm, signed);
  const blob = new Writer(signed.length + signature.length + 8).raw(signed).string(signature).finish().slice();
  // parsing what was built checks the key blob and the limits in one place
  return parseCertificate(blob);
}

/**
 * A signer that authenticates with a user certificate: its public blob is the
 * certificate, so it offers the `*-cert-v01@openssh.com` algorithms, and it
 * signs with `key` under the plain algorithm name, as OpenSSH does (an
 * `rsa-sha2-512-cert-v01@openssh.com` signature is an `rsa-sha2-512` one).
 * Give it to `connect()` as `privateKey`. The certificate must certify `key`.
 */
export function certificateSigner(key: AuthSigner, certificate: OpenSshCertificate | Uint8Array | string): AuthSigner {
  const cert =
    typeof certificate === 'string' ? parseCertificateLine(certificate).certificate : certificate instanceof Uint8Array ? parseCertificate(certificate) : certificate;
  if (cert.publicKey.length !== key.publicBlob.length || cert.publicKey.some((b, i) => b !== key.publicBlob[i])) {
    throw new CertificateError('the certificate is for another key than the signer\'s', 'malformed');
  }
  return Object.freeze({
    keyType: cert.certType,
    publicBlob: cert.blob,
    sign(algorithm: string, data: Uint8Array): Uint8Array | Promise<Uint8Array> {
      const plain = plainSignatureAlgorithm(algorithm);
      if (plain === null || !certificateSignatureAlgorithms(cert.certType).includes(algorithm)) {
        throw new RangeError(`a ${cert.certType} certificate cannot sign with ${algorithm}`);
      }
      return key.sign(plain, data);
    },
  });
}
