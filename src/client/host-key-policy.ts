// Whether the client trusts the server's host key. known_hosts is always
// consulted first; its verdict and the line behind it reach `verifyHostKey`,
// which may narrow the decision but widens it past a `mismatch` or `revoked`
// verdict only when it names that verdict. `acceptUnknownHostKey` is OpenSSH's
// `StrictHostKeyChecking accept-new`: an unknown key is trusted and recorded.
import { AbortError, HostKeyRejectedError } from '../errors.js';
import type { AlgorithmLists } from '../algorithms/index.js';
import { findHostKeyAlgorithm } from '../algorithms/hostkey.js';
import { blobKeyType, fingerprintSha256 } from '../keys/index.js';
import { parseKnownHosts, checkKnownHost, knownHostKeyTypes, formatKnownHostLine, type KnownHostEntry, type KnownHostCheck } from '../trust/index.js';
import type { ConnectOptions, HostKeyDecision, HostKeyInfo, KnownHostsLine } from './options.js';
import { readKnownHosts } from './options.js';
import { updateKnownHostsFile } from './known-hosts-file.js';
import type { AtomicWriteSteps } from '../io/node/files.js';

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
  switch (info.knownHosts) {
    case 'mismatch': {
      const sameType = info.otherKnownKeys?.some((k) => k.keyType === info.keyType) ?? true;
      if (sameType) return `does not match known_hosts${at} (possible man-in-the-middle)`;
      const types = [...new Set(info.otherKnownKeys?.map((k) => k.keyType))].join(', ');
      return `is a ${info.keyType} key, and known_hosts knows ${info.host}:${info.port} only by other key types (${types})${at} (possible man-in-the-middle)`;
    }
    case 'revoked':
      return `is revoked in known_hosts${at}`;
    default:
      return 'is not trusted (not in known_hosts; pass verifyHostKey or acceptUnknownHostKey)';
  }
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

/**
 * Reads known_hosts (a KeyFileError now, before any socket, if it cannot be
 * read) and returns the policy for `host`:`port`.
 */
export function hostKeyPolicy(options: ConnectOptions, host: string, port: number, fileSteps?: Partial<AtomicWriteSteps>): HostKeyPolicy {
  const known = readKnownHosts(options.knownHosts);
  const entries = known ? parseKnownHosts(known.text, known.path).entries : null;

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
      const knownTypes = knownHostKeyTypes(entries, host, port);
      const isKnown = (alg: string) => knownTypes.has(findHostKeyAlgorithm(alg)?.keyType ?? alg);
      return { ...algorithms, hostKey: [...algorithms.hostKey.filter(isKnown), ...algorithms.hostKey.filter((a) => !isKnown(a))] };
    },

    async verify(hostKey, algorithm, stillWanted = () => true) {
      const info = inspect(hostKey, algorithm);
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
        return info;
      } else if (info.knownHosts !== 'unknown' || !acceptNew) {
        return refuse(describe(info));
      }
      if (info.knownHosts === 'unknown' && acceptNew && info.knownHostsFile) {
        if (!stillWanted()) throw new AbortError();
        return record(info, info.knownHostsFile);
      }
      return info;
    },
  };
}
