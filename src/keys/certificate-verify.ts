// Whether a certificate may be used, as sshd (user certificates) and ssh
// (host certificates) decide it: a trusted CA whose signature verifies with
// an accepted algorithm, the right type, the validity window, a listed
// principal, and critical options all understood. Time is passed in; the
// result says what the certificate permits, for the session layer to apply.
import { constantTimeEqual } from '../wire/bytes.js';
import { verifySignature } from './signature.js';
import { addressInCidrList, parseCidrList } from './address-match.js';
import { globMatch } from '../wire/glob.js';
import {
  CertificateError,
  certificateOptionValue,
  parseCertificate,
  type CertificateKind,
  type OpenSshCertificate,
} from './certificate.js';

/**
 * CA signature algorithms accepted by default: OpenSSH's CASignatureAlgorithms
 * default since 8.2, which leaves out `ssh-rsa` (RSA with SHA-1). The
 * security-key algorithms are in OpenSSH's list too but Nacre cannot verify
 * them yet.
 */
export const DEFAULT_CA_SIGNATURE_ALGORITHMS: readonly string[] = Object.freeze([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
]);

export interface CertificateCheck {
  /** Which kind the caller needs: `user` on a server, `host` on a client. */
  readonly kind: CertificateKind;
  /** The trusted CA public key blobs, or a function deciding for a CA blob. */
  readonly trustedCa: readonly Uint8Array[] | ((caPublicBlob: Uint8Array) => boolean);
  /** The current time in milliseconds since the epoch (Date.now(), or a fake clock). */
  readonly now: number;
  /**
   * The login name (user certificates, matched exactly) or host name (host
   * certificates, where the certificate's principals may hold `*` and `?`
   * wildcards, as OpenSSH allows). Omitted: any listed principal will do.
   */
  readonly principal?: string;
  /**
   * Seconds of clock difference forgiven at either end of the validity
   * window. Default 0: sshd and ssh allow none (a CA that wants slack
   * backdates `valid after`, as `ssh-keygen -V -5m:+1h` does).
   */
  readonly clockSkewSeconds?: number;
  /** Accepted CA signature algorithms; default DEFAULT_CA_SIGNATURE_ALGORITHMS. */
  readonly caSignatureAlgorithms?: readonly string[];
  /**
   * The peer's IP address, checked against a `source-address` option. A
   * certificate carrying that option is refused when this is not given.
   */
  readonly sourceAddress?: string;
}

/** What a verified certificate allows, from its critical options and extensions. */
export interface CertificateAuthorization {
  readonly certificate: OpenSshCertificate;
  /** `force-command`: run this instead of what the client asked for. */
  readonly forceCommand: string | null;
  /** `source-address`, as written (already checked against `sourceAddress`). */
  readonly sourceAddresses: string | null;
  /** `verify-required`: security-key signatures must carry user verification (a PIN). */
  readonly verifyRequired: boolean;
  /** `no-touch-required`: a security-key signature need not show user presence. */
  readonly noTouchRequired: boolean;
  readonly permitPty: boolean;
  readonly permitX11Forwarding: boolean;
  readonly permitAgentForwarding: boolean;
  readonly permitPortForwarding: boolean;
  readonly permitUserRc: boolean;
}


const EXTENSION_FLAGS = {
  'permit-pty': 'permitPty',
  'permit-X11-forwarding': 'permitX11Forwarding',
  'permit-agent-forwarding': 'permitAgentForwarding',
  'permit-port-forwarding': 'permitPortForwarding',
  'permit-user-rc': 'permitUserRc',
  'no-touch-required': 'noTouchRequired',
} as const;

function isTrusted(ca: Uint8Array, trusted: CertificateCheck['trustedCa']): boolean {
  if (typeof trusted === 'function') return trusted(ca);
  return trusted.some((t) => constantTimeEqual(t, ca));
}

function checkSignature(cert: OpenSshCertificate, check: CertificateCheck): void {
  if (!isTrusted(cert.signatureKey, check.trustedCa)) throw new CertificateError('the certificate is signed by an untrusted CA', 'untrusted-ca');
  const allowed = check.caSignatureAlgorithms ?? DEFAULT_CA_SIGNATURE_ALGORITHMS;
  if (!allowed.includes(cert.signatureAlgorithm)) {
    throw new CertificateError(`the CA signed with ${cert.signatureAlgorithm.slice(0, 80)}, which is not accepted`, 'disallowed-signature-algorithm');
  }
  if (!verifySignature(cert.signatureKey, cert.signatureAlgorithm, cert.signedData, cert.signature)) {
    throw new CertificateError('the CA signature on the certificate does not verify', 'bad-signature');
  }
}

function checkValidity(cert: OpenSshCertificate, check: CertificateCheck): void {
  const skewSeconds = check.clockSkewSeconds ?? 0;
  if (!Number.isFinite(check.now) || !Number.isInteger(skewSeconds) || skewSeconds < 0) throw new RangeError('now and clockSkewSeconds must be finite, the skew a whole number ≥ 0');
  const now = BigInt(Math.floor(check.now / 1000));
  const skew = BigInt(skewSeconds);
  // as OpenSSH: valid from `valid after` inclusive to `valid before` exclusive
  if (now + skew < cert.validAfter) throw new CertificateError(`the certificate is not valid before ${cert.validAfter} (now ${now})`, 'not-yet-valid');
  if (now - skew >= cert.validBefore) throw new CertificateError(`the certificate expired at ${cert.validBefore} (now ${now})`, 'expired');
}

function checkPrincipal(cert: OpenSshCertificate, check: CertificateCheck): void {
  if (cert.principals.length === 0) throw new CertificateError('the certificate lists no principals', 'no-principals');
  const name = check.principal;
  if (name === undefined) return;
  const matches = cert.kind === 'host' ? cert.principals.some((p) => globMatch(name, p)) : cert.principals.includes(name);
  if (!matches) throw new CertificateError(`${JSON.stringify(name.slice(0, 256))} is not a principal of the certificate`, 'wrong-principal');
}

interface CriticalOptions {
  forceCommand: string | null;
  sourceAddresses: string | null;
  verifyRequired: boolean;
}

function readCriticalOptions(cert: OpenSshCertificate, sourceAddress: string | undefined): CriticalOptions {
  const out: CriticalOptions = { forceCommand: null, sourceAddresses: null, verifyRequired: false };
  if (cert.kind === 'host' && cert.criticalOptions.length > 0) {
    // ssh refuses any: no critical option is defined for host certificates
    throw new CertificateError(`host certificate carries critical option ${cert.criticalOptions[0]!.name.slice(0, 80)}`, 'unknown-critical-option');
  }
  const seen = new Set<string>();
  for (const opt of cert.criticalOptions) {
    if (seen.has(opt.name)) throw new CertificateError(`critical option ${opt.name} appears twice`, 'malformed');
    seen.add(opt.name);
    if (opt.name === 'verify-required') {
      if (opt.data.length !== 0) throw new CertificateError('verify-required carries data', 'malformed');
      out.verifyRequired = true;
    } else if (opt.name === 'force-command' || opt.name === 'source-address') {
      const value = certificateOptionValue(opt);
      if (value === null) throw new CertificateError(`${opt.name} is not a single string`, 'malformed');
      if (opt.name === 'force-command') out.forceCommand = value;
      else {
        if (parseCidrList(value) === null) throw new CertificateError(`source-address ${JSON.stringify(value.slice(0, 200))} is not a CIDR list`, 'malformed');
        out.sourceAddresses = value;
      }
    } else {
      throw new CertificateError(`unknown critical option ${JSON.stringify(opt.name.slice(0, 80))}`, 'unknown-critical-option');
    }
  }
  if (out.sourceAddresses !== null) {
    if (sourceAddress === undefined) throw new CertificateError('the certificate has a source-address option but no address was given to check', 'source-address');
    if (addressInCidrList(sourceAddress, out.sourceAddresses) !== true) {
      throw new CertificateError(`address ${sourceAddress.slice(0, 64)} is not in the certificate's source-address ${out.sourceAddresses.slice(0, 200)}`, 'source-address');
    }
  }
  return out;
}

/**
 * Checks a certificate (parsed, or its blob) and returns what it permits; a
 * CertificateError names the first problem found, in the order sshd checks:
 * structure, CA, signature, type, validity, principal, critical options.
 * Unknown extensions are ignored, as OpenSSH does.
 */
export function verifyCertificate(certificate: OpenSshCertificate | Uint8Array, check: CertificateCheck): CertificateAuthorization {
  // Parsed again from the blob even when given parsed: the fields checked
  // must be the ones the CA signed, not an edited copy of them.
  const cert = parseCertificate(certificate instanceof Uint8Array ? certificate : certificate.blob);
  checkSignature(cert, check);
  if (cert.kind !== check.kind) throw new CertificateError(`a ${cert.kind} certificate where a ${check.kind} certificate is needed`, 'wrong-type');
  checkValidity(cert, check);
  checkPrincipal(cert, check);
  const critical = readCriticalOptions(cert, check.sourceAddress);
  const flags = { permitPty: false, permitX11Forwarding: false, permitAgentForwarding: false, permitPortForwarding: false, permitUserRc: false, noTouchRequired: false };
  for (const ext of cert.extensions) {
    const key = (EXTENSION_FLAGS as Record<string, keyof typeof flags | undefined>)[ext.name];
    if (key === undefined) continue;
    // OpenSSH refuses a known flag that carries data
    if (ext.data.length !== 0) throw new CertificateError(`extension ${ext.name} carries data`, 'malformed');
    flags[key] = true;
  }
  return Object.freeze({ certificate: cert, ...critical, ...flags });
}
