// The extensions a server announces in its EXT_INFO (RFC 8308), right after
// its first NEWKEYS when the client offered `ext-info-c`.
import { secureUserKeyAlgorithms } from '../../algorithms/hostkey.js';
import { utf8 } from '../../wire/bytes.js';

/**
 * `server-sig-algs` (what user-key signatures we verify), and OpenSSH's
 * `publickey-hostbound@openssh.com` and `ping@openssh.com`, version 0 each.
 */
export function serverExtensions(serverSigAlgs: readonly string[] = secureUserKeyAlgorithms()): [string, Uint8Array][] {
  return [
    ['server-sig-algs', utf8(serverSigAlgs.join(','))],
    ['publickey-hostbound@openssh.com', utf8('0')],
    ['ping@openssh.com', utf8('0')],
  ];
}
