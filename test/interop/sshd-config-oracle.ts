// What the sshd_config interop tests share to compare `sshd -T` with
// formatSshdConfig: sshd's algorithm lists cut to what Nacre implements (its
// -T prints every name it knows; Nacre's drops the ones it lacks, warning).
import { cipherAlgorithms } from '../../src/algorithms/cipher/index.js';
import { macAlgorithms } from '../../src/algorithms/mac.js';
import { kexAlgorithms } from '../../src/algorithms/kex/index.js';
import { allHostKeyAlgorithms, hostCertificateAlgorithms, userKeyAlgorithms } from '../../src/algorithms/hostkey.js';
import { SIGNATURE_ALGORITHMS } from '../../src/keys/signature.js';

const NACRE_NAMES: Record<string, ReadonlySet<string>> = {
  ciphers: new Set(cipherAlgorithms.map((a) => a.name)),
  macs: new Set(macAlgorithms.map((a) => a.name)),
  kexalgorithms: new Set(kexAlgorithms.map((a) => a.name)),
  hostkeyalgorithms: new Set(allHostKeyAlgorithms.map((a) => a.name)),
  pubkeyacceptedalgorithms: new Set([...hostCertificateAlgorithms, ...userKeyAlgorithms].map((a) => a.name)),
  // The CA signatures Nacre verifies (a security-key CA's are not among them).
  casignaturealgorithms: new Set(Object.keys(SIGNATURE_ALGORITHMS)),
};

/** An `sshd -T` algorithm-list line with only the names Nacre has; null for any other keyword. */
export function nacreAlgorithmLine(keyword: string, rest: readonly string[]): string | null {
  const names = NACRE_NAMES[keyword];
  return names ? `${keyword} ${rest.join(' ').split(',').filter((n) => names.has(n)).join(',')}` : null;
}
