// sshd's RevokedKeys file, read from disk: a binary KRL (`ssh-keygen -k`), or
// a text file of public keys (and ssh-keygen -k's other spec lines) to refuse.
import { MAX_KRL_BYTES, isKrl, parseKrl } from '../../keys/krl.js';
import { revokedKeys, type RevocationCheck } from '../../keys/krl-check.js';
import { buildKrl, parseKrlSpec } from '../../keys/krl-spec.js';
import { readBounded } from './files.js';

/**
 * Reads a RevokedKeys file into a check for `publicKeyAuthenticator`'s
 * `revokedKeys`. Read once: call again to pick up changes (sshd re-reads it
 * at every authentication). A file that cannot be read is a KeyFileError; a
 * malformed KRL or line a KrlError naming the file.
 */
export function loadRevokedKeys(path: string): RevocationCheck {
  const bytes = readBounded(path, MAX_KRL_BYTES, 'revoked keys file');
  if (isKrl(bytes)) return revokedKeys(parseKrl(bytes));
  return revokedKeys(buildKrl(parseKrlSpec(Buffer.from(bytes).toString('utf8'), { source: path })));
}
