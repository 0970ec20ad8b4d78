// What `ssh -Q` lists, from the registries: every algorithm Nacre implements
// of a kind (including those off by default), or for an ssh_config keyword
// (`-Q KexAlgorithms`) the default list that keyword starts from.
import { kexAlgorithms } from './kex/index.js';
import { hostKeyAlgorithms } from './hostkey.js';
import { cipherAlgorithms } from './cipher/index.js';
import { macAlgorithms } from './mac.js';
import { compressionAlgorithms } from './compression.js';
import { defaultAlgorithmLists } from './index.js';
import { CERTIFICATE_KEY_TYPES } from '../keys/certificate.js';

/** The kinds `algorithmNames` answers, as `ssh -Q help` lists them. */
export const ALGORITHM_QUERIES: readonly string[] = Object.freeze([
  'cipher',
  'cipher-auth',
  'compression',
  'kex',
  'key',
  'key-cert',
  'key-plain',
  'key-sig',
  'mac',
  'protocol-version',
  'sig',
]);

/** Key types, each plain type followed by its certificate type (as ssh -Q key). */
function keyTypes(): { plain: string[]; cert: string[]; all: string[] } {
  const plain = ['ssh-ed25519', 'sk-ssh-ed25519@openssh.com', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-rsa'];
  const certOf = (t: string) => Object.entries(CERTIFICATE_KEY_TYPES).find(([, p]) => p === t)?.[0];
  const all = plain.flatMap((t) => [t, ...(certOf(t) ? [certOf(t)!] : [])]);
  return { plain, cert: all.filter((t) => !plain.includes(t)), all };
}

/**
 * The names `ssh -Q query` would list, or null for a query Nacre does not
 * know. Kinds (`kex`, `cipher`, `mac`, `key`, `sig` ...) list every
 * implemented algorithm; keywords (`KexAlgorithms`, `Ciphers`, `MACs`,
 * `HostKeyAlgorithms`, `PubkeyAcceptedAlgorithms`, case-insensitive) their defaults.
 */
export function algorithmNames(query: string): string[] | null {
  const defaults = () => defaultAlgorithmLists();
  switch (query.toLowerCase()) {
    case 'cipher':
    case 'ciphers':
      return query.toLowerCase() === 'cipher' ? cipherAlgorithms.map((c) => c.name) : [...defaults().cipher];
    case 'cipher-auth':
      return cipherAlgorithms.filter((c) => c.aead).map((c) => c.name);
    case 'compression':
      return compressionAlgorithms.map((c) => c.name);
    case 'kex':
      return kexAlgorithms.map((k) => k.name);
    case 'kexalgorithms':
      return [...defaults().kex];
    case 'key':
      return keyTypes().all;
    case 'key-cert':
      return keyTypes().cert;
    case 'key-plain':
      return keyTypes().plain;
    case 'key-sig':
    case 'sig':
      return hostKeyAlgorithms.map((a) => a.name);
    case 'hostkeyalgorithms':
    case 'hostbasedacceptedalgorithms':
    case 'pubkeyacceptedalgorithms':
    case 'casignaturealgorithms':
      return [...defaults().hostKey];
    case 'mac':
      return macAlgorithms.map((m) => m.name);
    case 'macs':
      return [...defaults().mac];
    case 'protocol-version':
      return ['2'];
    case 'help':
      return [...ALGORITHM_QUERIES];
    default:
      return null;
  }
}
