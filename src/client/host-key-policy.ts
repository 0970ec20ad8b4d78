// Whether the client trusts the server's host key. known_hosts is always
// consulted first; its verdict and the line behind it reach `verifyHostKey`,
// which may narrow the decision but widens it past a `mismatch` or `revoked`
// verdict only when it names that verdict. `acceptUnknownHostKey` is OpenSSH's
// `StrictHostKeyChecking accept-new`: an unknown key is trusted and recorded.
// Before all that, a key RevokedHostKeys lists is refused outright; and
// HostKeyAlias replaces host and port as the name looked up and recorded.
import { AbortError, HostKeyRejectedError } from '../errors.js';
import type { AlgorithmLists } from '../algorithms/index.js';
import { findHostKeyAlgorithm, isHostCertificateAlgorithm } from '../algorithms/hostkey.js';
import { blobKeyType, fingerprintSha256, RSA_MIN_BITS } from '../keys/blob.js';
import { describePublicKey } from '../keys/fingerprint.js';
import { isCertificateType, parseCertificate, CERTIFICATE_KEY_TYPES, type OpenSshCertificate } from '../keys/certificate.js';
import { verifyCertificate } from '../keys/certificate-verify.js';
import { constantTimeEqual } from '../wire/bytes.js';
import {
  parseKnownHosts,
  checkKnownHost,
  knownHostKeyTypes,
  knownHostCertAuthorities,
  knownHostEntryMatches,
  knownHostName,
  formatKnownHostLine,
  type KnownHostEntry,
  type KnownHostCheck,
} from '../trust/known-hosts.js';
import type { ConnectOptions, HostCertificateInfo, HostKeyDecision, HostKeyInfo, KnownHostsLine } from './options.js';
import { updateKnownHostsFile } from './known-hosts-file.js';
import { readKnownHostsSources, type KnownHostsText } from './known-hosts-files.js';
import { expandHome, type AtomicWriteSteps } from '../io/node/files.js';
import type { RevocationCheck } from '../keys/krl-check.js';

export interface HostKeyPolicy {
  /** `algorithms` with the host key types known_hosts holds for this host asked for first. */
  preferKnownKeyTypes(algorithms: AlgorithmLists): AlgorithmLists;
  /**
   * Decides on the key the server proved it holds: resolves with what is known
   * about it when trusted (after recording it, for accept-new), rejects with
   * HostKeyRejectedError (or the KeyFileError of a failed write) otherwise.
   * `stillWanted` is asked before accept-new writes: a connection that
   * failed (timed out, aborted) while verifyHostKey thought leaves the file
   * alone, and verify rejects with an AbortError.
   */
  verify(hostKey: Uint8Array, algorithm: string, stillWanted?: () => boolean): Promise<HostKeyInfo>;
  /**
   * After `verify`: whether UpdateHostKeys may edit known_hosts for this
   * connection (true), or why not. As ssh: only when the key was trusted
   * through a plain line of the user's files, or was unknown and accepted by
   * `verifyHostKey` (a user's explicit yes); never after a host certificate,
   * a global file's line, accept-new, or an overridden mismatch.
   */
  updateHostKeysAllowed(): true | string;
  /** The user's known_hosts files (the first is written); empty with `knownHosts: false`. */
  readonly userFiles: readonly string[];
  /** The host and port known_hosts names this host by: HostKeyAlias (port 22) or the real ones. */
  readonly lookupHost: string;
  readonly lookupPort: number;
}

type Verdict = HostKeyInfo['knownHosts'];

/**
 * known_hosts' verdict as OpenSSH 10 gives it. A key that differs from a
 * known key of its type is a mismatch; so is a key of a new type for a host
 * known_hosts knows only by keys of other types: ssh then says "REMOTE HOST
 * IDENTIFICATION HAS CHANGED" and names the other key as the offending one,
 * since a server offering only a type nobody can check is what an attacker
 * without the host's keys would do. (We ask for the known types first, as
 * ssh does, so a real server that has them shows one.)
 */
function checkHost(entries: readonly KnownHostEntry[], host: string, port: number, hostKey: Uint8Array): KnownHostCheck {
  const check = checkKnownHost(entries, host, port, hostKey, { sameTypeOnly: true });
  const offending = check.status === 'unknown' ? check.otherKeys?.[0] : undefined;
  return offending ? { ...check, status: 'mismatch', entry: offending } : check;
}

function location(entry: KnownHostEntry, file: string): KnownHostsLine {
  return { file: entry.source ?? file, line: entry.line, keyType: entry.keyType };
}

function describe(info: HostKeyInfo): string {
  const at = info.knownHostsEntry ? ` (${info.knownHostsEntry.file} line ${info.knownHostsEntry.line})` : '';
  // a refused certificate was checked as a plain key: say why the certificate did not vouch for it
  const cert = info.certificate?.problem ? `; its host certificate was not accepted: ${info.certificate.problem}` : '';
  switch (info.knownHosts) {
    case 'mismatch': {
      const sameType = info.otherKnownKeys?.some((k) => k.keyType === info.keyType) ?? true;
      if (sameType) return `does not match known_hosts${at} (possible man-in-the-middle)${cert}`;
      const types = [...new Set(info.otherKnownKeys?.map((k) => k.keyType))].join(', ');
      return `is a ${info.keyType} key, and known_hosts knows ${info.host}:${info.port} only by other key types (${types})${at} (possible man-in-the-middle)${cert}`;
    }
    case 'revoked':
      return `is revoked in known_hosts${at}${cert}`;
    default:
      return `is not trusted (not in known_hosts; pass verifyHostKey or acceptUnknownHostKey)${cert}`;
  }
}

function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, b);
}

function certificateInfo(cert: OpenSshCertificate, trusted: boolean, problem?: string): HostCertificateInfo {
  return {
    blob: cert.blob,
    certType: cert.certType,
    keyId: cert.keyId,
    serial: cert.serial,
    principals: cert.principals,
    validAfter: cert.validAfter,
    validBefore: cert.validBefore,
    caKey: cert.signatureKey,
    caFingerprint: fingerprintSha256(cert.signatureKey),
    trusted,
    ...(problem === undefined ? {} : { problem }),
  };
}

/** The plain key type behind a host key algorithm (`ssh-ed25519` for `ssh-ed25519-cert-v01@openssh.com`). */
function plainKeyType(algorithm: string): string {
  const type = findHostKeyAlgorithm(algorithm)?.keyType ?? algorithm;
  return CERTIFICATE_KEY_TYPES[type] ?? type;
}

/** True when `decision` trusts a key with this verdict; a string saying why not otherwise. */
function judge(decision: HostKeyDecision, verdict: Verdict): true | string {
  const contradicts = verdict === 'mismatch' || verdict === 'revoked';
  if (decision === true) return contradicts ? `verifyHostKey returned true, which does not override "${verdict}"; return { accept: '${verdict}' } to trust it anyway` : true;
  if (decision === false) return contradicts ? `was rejected by verifyHostKey (known_hosts says "${verdict}")` : 'was rejected by verifyHostKey';
  const named = typeof decision === 'object' && decision !== null ? (decision as { accept?: unknown }).accept : undefined;
  if (named === 'mismatch' || named === 'revoked') {
    if (!contradicts || named === verdict) return true;
    return `verifyHostKey overrode "${named}", but known_hosts says "${verdict}"`;
  }
  return "was rejected: verifyHostKey returned neither a boolean nor { accept: 'mismatch' | 'revoked' }";
}

/** `hostKeyPolicy`'s default reader of `revokedHostKeys`: connect() passes the real one (io/node/revoked-keys.ts, loaded only then). */
function revokedKeysNotLoaded(): never {
  throw new Error('hostKeyPolicy: revokedHostKeys needs the revoked keys reader (pass loadRevokedKeys)');
}

/**
 * Reads known_hosts and the revoked keys file (a KeyFileError now, before
 * any socket, if one cannot be read) and returns the policy for
 * `host`:`port`. `loadRevokedKeys` reads `options.revokedHostKeys`; it is a
 * parameter so that the KRL code loads only for a connection that names
 * such a file.
 */
export function hostKeyPolicy(
  options: ConnectOptions,
  connectHost: string,
  connectPort: number,
  fileSteps?: Partial<AtomicWriteSteps>,
  loadRevokedKeys: (path: string) => RevocationCheck = revokedKeysNotLoaded,
): HostKeyPolicy {
  // HostKeyAlias names the host in known_hosts (and as a host certificate's
  // principal) without a port, as ssh writes it.
  const alias = options.hostKeyAlias;
  if (alias !== undefined && (alias === '' || /[\s,]/.test(alias))) throw new RangeError(`hostKeyAlias ${JSON.stringify(alias)} cannot name a host in known_hosts`);
  const host = alias ?? connectHost;
  const port = alias === undefined ? connectPort : 22;
  const sources = readKnownHostsSources(options);
  const files: KnownHostsText[] = [...sources.user, ...sources.global];
  const globalPaths = new Set(sources.global.map((f) => f.path));
  const writable = sources.user[0];
  // `known` is what the rest of this function reports as "the" file: the one written to.
  const known = files.length === 0 ? null : { path: (writable ?? files[0]!).path };
  const entries = known ? files.flatMap((f) => parseKnownHosts(f.text, f.path).entries) : null;
  const revocation: { path: string; check: RevocationCheck } | null =
    options.revokedHostKeys === undefined ? null : { path: expandHome(options.revokedHostKeys), check: loadRevokedKeys(expandHome(options.revokedHostKeys)) };
  let updateAllowed: true | string = 'the host key was not verified yet';
  const requiredRsaSize = options.requiredRsaSize ?? RSA_MIN_BITS;
  if (!Number.isSafeInteger(requiredRsaSize) || requiredRsaSize < 0) throw new RangeError(`requiredRsaSize must be a whole number of bits, not ${String(requiredRsaSize)}`);
  const caSignatureAlgorithms = options.caSignatureAlgorithms;
  if (caSignatureAlgorithms !== undefined && (!Array.isArray(caSignatureAlgorithms) || caSignatureAlgorithms.some((a) => typeof a !== 'string'))) {
    throw new RangeError('caSignatureAlgorithms must be an array of algorithm names');
  }

  /**
   * A host certificate, as ssh judges it: revoked (its CA or its key named by
   * an `@revoked` line) is final; trusted when a `@cert-authority` line for
   * this host lists its CA and it is a valid host certificate for `host`;
   * otherwise the certified key is checked as a plain key, and the info says
   * why the certificate did not count.
   */
  const inspectCertificate = (blob: Uint8Array, algorithm: string): HostKeyInfo => {
    const cert = parseCertificate(blob);
    const plain = inspect(cert.publicKey, algorithm);
    if (!known || !entries) return { ...plain, certificate: certificateInfo(cert, false, 'known_hosts is not checked (knownHosts: false)') };
    const name = knownHostName(host, port);
    const revokedCa = entries.find((e) => e.marker === 'revoked' && knownHostEntryMatches(e, name) && (sameBlob(e.blob, cert.signatureKey) || sameBlob(e.blob, blob)));
    if (revokedCa) {
      return {
        ...plain,
        knownHosts: 'revoked',
        knownHostsEntry: location(revokedCa, known.path),
        certificate: certificateInfo(cert, false, sameBlob(revokedCa.blob, blob) ? 'the certificate is revoked' : `its CA ${fingerprintSha256(cert.signatureKey)} is revoked`),
      };
    }
    if (plain.knownHosts === 'revoked') return { ...plain, certificate: certificateInfo(cert, false, 'the certified key is revoked') };
    const ca = knownHostCertAuthorities(entries, host, port).find((e) => sameBlob(e.blob, cert.signatureKey));
    if (!ca) {
      return { ...plain, certificate: certificateInfo(cert, false, `its CA ${fingerprintSha256(cert.signatureKey)} is not listed as @cert-authority for ${name} in ${files.map((f) => f.path).join(', ')}`) };
    }
    try {
      verifyCertificate(cert, { kind: 'host', trustedCa: [ca.blob], now: Date.now(), principal: host, ...(caSignatureAlgorithms ? { caSignatureAlgorithms } : {}) });
    } catch (err) {
      return { ...plain, certificate: certificateInfo(cert, false, err instanceof Error ? err.message : String(err)) };
    }
    const { otherKnownKeys: _others, ...rest } = plain;
    return { ...rest, knownHosts: 'match', knownHostsEntry: location(ca, known.path), certificate: certificateInfo(cert, true) };
  };

  const inspect = (hostKey: Uint8Array, algorithm: string): HostKeyInfo => {
    const base = { host, port, key: hostKey, keyType: blobKeyType(hostKey), fingerprint: fingerprintSha256(hostKey), algorithm };
    if (!known || !entries) return { ...base, knownHosts: 'not-checked' };
    const check = checkHost(entries, host, port, hostKey);
    return {
      ...base,
      knownHosts: check.status,
      knownHostsFile: known.path,
      ...(check.entry ? { knownHostsEntry: location(check.entry, known.path) } : {}),
      ...(check.otherKeys ? { otherKnownKeys: check.otherKeys.map((e) => location(e, known.path)) } : {}),
    };
  };

  /** Adds the key (accept-new), unless the file, read again, now says otherwise. */
  const record = async (info: HostKeyInfo, path: string): Promise<HostKeyInfo> => {
    const line = formatKnownHostLine(host, port, info.key, { hash: options.hashKnownHosts === true });
    let added: number | null = null;
    await updateKnownHostsFile(
      path,
      (current) => {
        // Another process may have written since we read: never contradict it.
        const now = checkHost(parseKnownHosts(current, path).entries, host, port, info.key);
        if (now.status === 'match') return null;
        if (now.status !== 'unknown') {
          const changed = {
            ...info,
            knownHosts: now.status,
            ...(now.entry ? { knownHostsEntry: location(now.entry, path) } : {}),
            ...(now.otherKeys ? { otherKnownKeys: now.otherKeys.map((e) => location(e, path)) } : {}),
          };
          throw new HostKeyRejectedError(`host key ${info.fingerprint} for ${host}:${port} ${describe(changed)}`, info.fingerprint);
        }
        const text = current === '' || current.endsWith('\n') ? current : current + '\n';
        added = text.split('\n').length;
        return `${text}${line}\n`;
      },
      fileSteps,
    );
    return added === null ? info : { ...info, addedToKnownHosts: { file: path, line: added } };
  };

  return {
    preferKnownKeyTypes(algorithms) {
      if (!entries || options.algorithms?.hostKey) return algorithms;
      // As ssh does: ask first for the key types known_hosts already holds for
      // this host, so a server with several keys shows the one we can check.
      // A `@cert-authority` line for the host puts every certificate
      // algorithm first, as ssh does; a certificate of a known key type comes
      // before the plain key (ssh checks it as the plain key if its CA is not listed).
      const knownTypes = knownHostKeyTypes(entries, host, port);
      const hasCa = knownHostCertAuthorities(entries, host, port).length > 0;
      const first = (alg: string) => (hasCa && isHostCertificateAlgorithm(alg)) || knownTypes.has(plainKeyType(alg));
      return { ...algorithms, hostKey: [...algorithms.hostKey.filter(first), ...algorithms.hostKey.filter((a) => !first(a))] };
    },

    async verify(hostKey, algorithm, stillWanted = () => true) {
      // RequiredRSASize comes first, as in ssh (before RevokedHostKeys and known_hosts).
      const type = blobKeyType(hostKey);
      if (type === 'ssh-rsa' || type === 'ssh-rsa-cert-v01@openssh.com') {
        const bits = describePublicKey(hostKey).bits;
        if (bits < requiredRsaSize) {
          const fp = fingerprintSha256(hostKey);
          throw new HostKeyRejectedError(`Bad server host key: Invalid key length (the ${bits}-bit RSA host key ${fp} of ${host}:${port} is shorter than requiredRsaSize ${requiredRsaSize})`, fp);
        }
      }
      if (revocation) {
        // RevokedHostKeys comes before known_hosts and any callback, as in ssh: no answer trusts such a key.
        const revoked = revocation.check(hostKey);
        if (revoked) {
          const fp = fingerprintSha256(hostKey);
          const what = revoked.subject === 'ca' ? "the host certificate's CA" : revoked.subject === 'certificate' ? 'the host certificate' : 'the host key';
          throw new HostKeyRejectedError(`host key ${fp} for ${host}:${port} is revoked: ${what} is listed in ${revocation.path} (${revoked.rule})`, fp);
        }
      }
      const info = isCertificateType(blobKeyType(hostKey)) ? inspectCertificate(hostKey, algorithm) : inspect(hostKey, algorithm);
      const refuse = (why: string, cause?: unknown): never => {
        throw new HostKeyRejectedError(`host key ${info.fingerprint} for ${host}:${port} ${why}`, info.fingerprint, cause === undefined ? undefined : { cause });
      };
      const acceptNew = options.acceptUnknownHostKey === true;
      if (options.verifyHostKey) {
        let decision: HostKeyDecision;
        try {
          decision = await options.verifyHostKey(info);
        } catch (err) {
          return refuse('was rejected: verifyHostKey threw', err);
        }
        const verdict = judge(decision, info.knownHosts);
        if (verdict !== true) return refuse(verdict.startsWith('was ') ? verdict : `${describe(info)}: ${verdict}`);
      } else if (info.knownHosts === 'match' || (info.knownHosts === 'not-checked' && acceptNew)) {
        updateAllowed = updatable(info, false);
        return info;
      } else if (info.knownHosts !== 'unknown' || !acceptNew) {
        return refuse(describe(info));
      }
      updateAllowed = updatable(info, options.verifyHostKey !== undefined);
      if (info.knownHosts === 'unknown' && acceptNew && writable) {
        if (!stillWanted()) throw new AbortError();
        return record(info, writable.path);
      }
      return info;
    },

    updateHostKeysAllowed: () => updateAllowed,
    userFiles: sources.user.map((f) => f.path),
    lookupHost: host,
    lookupPort: port,
  };

  /** Whether a trusted key lets UpdateHostKeys edit known_hosts (ssh's rules in check_host_key). */
  function updatable(info: HostKeyInfo, confirmedByCallback: boolean): true | string {
    if (info.certificate?.trusted) return 'the host was authenticated by a certificate';
    if (info.knownHosts === 'match') {
      const file = info.knownHostsEntry?.file;
      if (file !== undefined && globalPaths.has(file) && !sources.user.some((f) => f.path === file)) return `the host key was found in the global file ${file}`;
      return true;
    }
    if (info.knownHosts === 'unknown' && confirmedByCallback) return true;
    return info.knownHosts === 'unknown' ? 'the host key was not known and not explicitly accepted (accept-new)' : `the host key is not trusted by known_hosts ("${info.knownHosts}")`;
  }
}
