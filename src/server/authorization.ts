// Deciding a publickey login the way sshd does from authorized_keys and
// TrustedUserCAKeys: which line (or trusted CA) lets the key or certificate
// in, whether its `from=`, `expiry-time=` and `principals=` allow this
// attempt, and the Restrictions the session then lives under. The
// application calls it from `authenticate`, or uses `publicKeyAuthenticator`.
import { constantTimeEqual } from '../wire/bytes.js';
import type { AuthorizedKeyEntry } from '../trust/authorized-keys.js';
import { CertificateError, isCertificateType, parseCertificate, type OpenSshCertificate } from '../keys/certificate.js';
import { verifyCertificate, type CertificateAuthorization } from '../keys/certificate-verify.js';
import type { RevocationCheck } from '../keys/krl-check.js';
import type { AuthContext, Authenticate, AuthResult } from './auth.js';
import {
  addressMatchesPatterns,
  combineRestrictions,
  restrictionsFromAuthorizedKey,
  restrictionsFromCertificate,
  type PermitUserEnvironment,
  type Restrictions,
} from './restrictions.js';

export interface PublicKeyAuthorizationOptions {
  /**
   * The user's authorized_keys entries (from `parseAuthorizedKeys`), or a
   * function giving them for a username (called at each attempt, so it may
   * re-read the file). Plain lines let their key in; `cert-authority` lines
   * let in certificates their key signed.
   */
  readonly authorizedKeys?: readonly AuthorizedKeyEntry[] | ((username: string) => readonly AuthorizedKeyEntry[]);
  /**
   * CA public key blobs trusted to sign user certificates for any user
   * (sshd's TrustedUserCAKeys): the login name must be one of the
   * certificate's principals, or one of `authorizedPrincipals` when given.
   */
  readonly trustedUserCaKeys?: readonly Uint8Array[];
  /**
   * sshd's AuthorizedPrincipalsFile for trusted CAs: the principal names
   * accepted for a username (a certificate must list one of them). Not
   * given, or returning null: the username itself.
   */
  readonly authorizedPrincipals?: (username: string) => readonly string[] | null;
  /** Whether `environment=` options apply (sshd's PermitUserEnvironment); default false. */
  readonly permitUserEnvironment?: PermitUserEnvironment;
  /** Milliseconds since the epoch; default Date.now. For certificates' validity and `expiry-time`. */
  readonly now?: () => number;
  /** Accepted CA signature algorithms; default DEFAULT_CA_SIGNATURE_ALGORITHMS. */
  readonly caSignatureAlgorithms?: readonly string[];
  /**
   * sshd's RevokedKeys: a key or certificate it names is refused before any
   * other check. `revokedKeys(parseKrl(bytes))` checks a KRL;
   * `loadRevokedKeys(path)` reads sshd's file (a KRL or public key lines).
   */
  readonly revokedKeys?: RevocationCheck;
}

/** Why a key was let in, and with what restrictions; or why not. */
export type PublicKeyAuthorization =
  | {
      readonly allowed: true;
      readonly restrictions: Restrictions;
      /** The authorized_keys line that matched (null for a trusted CA). */
      readonly entry: AuthorizedKeyEntry | null;
      /** The checked certificate, when the key was one. */
      readonly certificate: CertificateAuthorization | null;
    }
  | { readonly allowed: false; readonly reason: string };

type Denied = Extract<PublicKeyAuthorization, { allowed: false }>;

const deny = (reason: string): Denied => ({ allowed: false, reason });

/** The `principals=` list of a cert-authority line, or null when it has none. */
function principalsOption(entry: AuthorizedKeyEntry): string[] | null {
  const v = entry.options.get('principals');
  return typeof v === 'string' ? v.split(',').filter((p) => p !== '') : null;
}

/** Whether a line applies to this attempt: not expired, and `from=` (if any) matches the peer. */
function lineApplies(entry: AuthorizedKeyEntry, remoteAddress: string | undefined, now: number): string | null {
  if (entry.expiresAt && entry.expiresAt.getTime() < now) return `${where(entry)}: the key expired (expiry-time)`;
  const from = entry.options.get('from');
  if (typeof from === 'string' && !addressMatchesPatterns(remoteAddress, from)) {
    return `${where(entry)}: address ${remoteAddress ?? 'unknown'} is not allowed by from="${from.slice(0, 200)}"`;
  }
  return null;
}

function where(entry: AuthorizedKeyEntry): string {
  return `${entry.source ?? 'authorized_keys'}:${entry.line}`;
}

function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, b);
}

/**
 * Checks a certificate and that one of `principals` (the username when null)
 * is among its principals; returns the certificate's authorization or a
 * reason.
 */
function checkCertificate(
  cert: OpenSshCertificate,
  ca: Uint8Array,
  username: string,
  principals: readonly string[] | null,
  remoteAddress: string | undefined,
  options: PublicKeyAuthorizationOptions,
  now: number,
): CertificateAuthorization | Denied {
  try {
    const auth = verifyCertificate(cert, {
      kind: 'user',
      trustedCa: [ca],
      now,
      ...(principals === null ? { principal: username } : {}),
      ...(remoteAddress !== undefined ? { sourceAddress: remoteAddress } : {}),
      ...(options.caSignatureAlgorithms ? { caSignatureAlgorithms: options.caSignatureAlgorithms } : {}),
    });
    if (principals !== null && !auth.certificate.principals.some((p) => principals.includes(p))) {
      return deny(`none of the certificate's principals is authorized for ${username}`);
    }
    return auth;
  } catch (e) {
    if (e instanceof CertificateError) return deny(e.message);
    throw e;
  }
}

function entriesFor(options: PublicKeyAuthorizationOptions, username: string): readonly AuthorizedKeyEntry[] {
  const k = options.authorizedKeys;
  if (k === undefined) return [];
  return typeof k === 'function' ? k(username) : k;
}

function authorizeCertificate(
  ctx: Pick<AuthContext, 'username' | 'remoteAddress'>,
  blob: Uint8Array,
  options: PublicKeyAuthorizationOptions,
  now: number,
): PublicKeyAuthorization {
  let cert: OpenSshCertificate;
  try {
    cert = parseCertificate(blob);
  } catch (e) {
    if (e instanceof CertificateError) return deny(`the certificate is malformed: ${e.message}`);
    throw e;
  }
  let reason = 'the certificate is not signed by a trusted CA';
  // As sshd: TrustedUserCAKeys first, then cert-authority lines.
  if (options.trustedUserCaKeys?.some((ca) => sameBlob(ca, cert.signatureKey))) {
    const principals = options.authorizedPrincipals?.(ctx.username) ?? null;
    const r = checkCertificate(cert, cert.signatureKey, ctx.username, principals, ctx.remoteAddress, options, now);
    if (!('allowed' in r)) return { allowed: true, restrictions: restrictionsFromCertificate(r), entry: null, certificate: r };
    reason = r.reason;
  }
  for (const entry of entriesFor(options, ctx.username)) {
    if (!entry.certAuthority || !sameBlob(entry.blob, cert.signatureKey)) continue;
    const notHere = lineApplies(entry, ctx.remoteAddress, now);
    if (notHere) {
      reason = notHere;
      continue;
    }
    const r = checkCertificate(cert, entry.blob, ctx.username, principalsOption(entry), ctx.remoteAddress, options, now);
    if ('allowed' in r) {
      reason = `${where(entry)}: ${r.reason}`;
      continue;
    }
    const combined = combineRestrictions(restrictionsFromAuthorizedKey(entry, options.permitUserEnvironment), restrictionsFromCertificate(r));
    if (typeof combined === 'string') {
      reason = `${where(entry)}: ${combined}`;
      continue;
    }
    return { allowed: true, restrictions: combined, entry, certificate: r };
  }
  return deny(reason);
}

/**
 * The (frozen) restrictions of a plain key's line under the default
 * PermitUserEnvironment (none), remembered per entry: an application that
 * keeps its parsed lines between attempts (nacred does) gets them worked
 * out once per line instead of at every login.
 */
const defaultLineRestrictions = new WeakMap<AuthorizedKeyEntry, Restrictions>();

function lineRestrictions(entry: AuthorizedKeyEntry, permitUserEnvironment: PermitUserEnvironment | undefined): Restrictions {
  if (permitUserEnvironment !== undefined && permitUserEnvironment !== false) return restrictionsFromAuthorizedKey(entry, permitUserEnvironment);
  let r = defaultLineRestrictions.get(entry);
  if (!r) defaultLineRestrictions.set(entry, (r = restrictionsFromAuthorizedKey(entry, false)));
  return r;
}

/**
 * Decides a publickey attempt as sshd would from authorized_keys lines and
 * trusted user CAs. A plain key needs a line with the same key whose
 * `expiry-time` has not passed and whose `from=` matches the peer (sshd
 * passes over a line that does not apply and tries the next). A certificate
 * (`*-cert-v01@openssh.com`) needs a trusted CA or a `cert-authority` line
 * for its signer, a valid CA signature, the current time inside its validity,
 * the username (or one of `principals=` / `authorizedPrincipals`) among its
 * principals, and its `source-address`, if any, matching the peer. The
 * result's restrictions combine the line's options and the certificate's.
 * Decides on the key alone: the signature is the core's to check.
 */
export function authorizePublicKey(ctx: Pick<AuthContext, 'username' | 'publicKey' | 'remoteAddress'>, options: PublicKeyAuthorizationOptions): PublicKeyAuthorization {
  const key = ctx.publicKey;
  if (!key) return deny('not a publickey attempt');
  const revoked = options.revokedKeys?.(key.blob);
  if (revoked) return deny(`the ${revoked.subject === 'ca' ? "certificate's CA" : revoked.subject} is revoked (${revoked.rule})`);
  const now = options.now?.() ?? Date.now();
  if (isCertificateType(key.keyType)) return authorizeCertificate(ctx, key.blob, options, now);
  let reason = 'the key is not in authorized_keys';
  for (const entry of entriesFor(options, ctx.username)) {
    if (entry.certAuthority || !sameBlob(entry.blob, key.blob)) continue;
    const notHere = lineApplies(entry, ctx.remoteAddress, now);
    if (notHere) {
      reason = notHere;
      continue;
    }
    return { allowed: true, restrictions: lineRestrictions(entry, options.permitUserEnvironment), entry, certificate: null };
  }
  return deny(reason);
}

/**
 * An `authenticate` for `createServer` that takes publickey logins by
 * `authorizePublicKey` and refuses every other method; an accepted login
 * carries its restrictions to the session and forwarding layers.
 */
export function publicKeyAuthenticator(options: PublicKeyAuthorizationOptions): Authenticate {
  return (ctx): AuthResult => {
    if (ctx.method !== 'publickey') return false;
    const verdict = authorizePublicKey(ctx, options);
    return verdict.allowed ? { restrictions: verdict.restrictions } : false;
  };
}

