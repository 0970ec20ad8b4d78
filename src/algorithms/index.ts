// The five registries and the one place that turns user preferences into the
// lists a KEXINIT carries.
import { kexAlgorithms } from './kex/index.js';
import { hostKeyAlgorithms, allHostKeyAlgorithms } from './hostkey.js';
import { cipherAlgorithms } from './cipher/index.js';
import { macAlgorithms } from './mac.js';
import { compressionAlgorithms } from './compression.js';
import { resolvePreference, type AlgorithmChoice } from './preferences.js';

export { kexAlgorithms, hostKeyAlgorithms, cipherAlgorithms, macAlgorithms, compressionAlgorithms };
export { resolvePreference, UnknownAlgorithmError, type AlgorithmChoice } from './preferences.js';

/** Per kind: a full list, or OpenSSH-style "+a,b" / "-a,b" / "^a,b" against the defaults. */
export interface AlgorithmPreferences {
  readonly kex?: AlgorithmChoice;
  readonly hostKey?: AlgorithmChoice;
  readonly cipher?: AlgorithmChoice;
  readonly mac?: AlgorithmChoice;
  readonly compression?: AlgorithmChoice;
}

export interface AlgorithmLists {
  readonly kex: readonly string[];
  readonly hostKey: readonly string[];
  readonly cipher: readonly string[];
  readonly mac: readonly string[];
  readonly compression: readonly string[];
}

export function defaultAlgorithmLists(prefs: AlgorithmPreferences = {}): AlgorithmLists {
  // Frozen: the key exchange encodes a KEXINIT once per lists object and
  // reuses it (kex/machine.ts), so the lists must not change underneath it.
  return {
    kex: Object.freeze(resolvePreference('key exchange', kexAlgorithms, prefs.kex)),
    hostKey: Object.freeze(resolvePreference('host key', allHostKeyAlgorithms, prefs.hostKey)),
    cipher: Object.freeze(resolvePreference('cipher', cipherAlgorithms, prefs.cipher)),
    mac: Object.freeze(resolvePreference('MAC', macAlgorithms, prefs.mac)),
    compression: Object.freeze(resolvePreference('compression', compressionAlgorithms, prefs.compression)),
  };
}
