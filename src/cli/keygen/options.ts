// nacre-keygen's command line, read with ssh-keygen's own getopt spec so
// that every flag ssh-keygen knows parses the same way (and every flag it
// does not know is refused the same way), then sorted into one mode.
import { allValues, count, getopt, lastValue, type ParsedArgs } from '../common/getopt.js';

/** ssh-keygen's getopt string (OpenSSH 10): flags, then flags with an argument. */
export const KEYGEN_OPTSTRING = 'ABHKLQUXceghiklopquvy' + 'C:D:E:F:I:M:N:O:P:R:V:Y:Z:' + 'a:b:f:g:m:n:r:s:t:w:z:';

export interface KeygenOptions {
  readonly parsed: ParsedArgs;
  readonly operands: readonly string[];
  /** `-f`: the key, allowed_signers or known_hosts file. */
  readonly file: string | undefined;
  readonly quiet: boolean;
  readonly verbose: number;
  /** `-E`: sha256 (default) or md5. */
  readonly fingerprintHash: string;
  /** `-O`, in order. */
  readonly opts: readonly string[];
  readonly passphrase: string | undefined;
  readonly newPassphrase: string | undefined;
  readonly comment: string | undefined;
  readonly keyType: string | undefined;
  readonly bits: string | undefined;
  /** `-n`: certificate principals, or the SSHSIG namespace for -Y. */
  readonly names: string | undefined;
  /** `-I`: certificate identity, or the signer identity for -Y verify. */
  readonly identity: string | undefined;
  /** `-s`: CA key, or the signature file for -Y. */
  readonly signatureFile: string | undefined;
  readonly signOp: string | undefined;
  readonly findHost: string | undefined;
  readonly removeHost: string | undefined;
  readonly hashHosts: boolean;
  readonly fingerprint: boolean;
  readonly printPublic: boolean;
  readonly requireAgent: boolean;
}

export function parseKeygenArgs(args: readonly string[]): KeygenOptions {
  const parsed = getopt(args, KEYGEN_OPTSTRING);
  const has = (f: string) => count(parsed, f) > 0;
  return {
    parsed,
    operands: parsed.operands,
    file: lastValue(parsed, 'f'),
    quiet: has('q'),
    verbose: count(parsed, 'v'),
    fingerprintHash: lastValue(parsed, 'E') ?? 'sha256',
    opts: allValues(parsed, 'O'),
    passphrase: lastValue(parsed, 'P'),
    newPassphrase: lastValue(parsed, 'N'),
    comment: lastValue(parsed, 'C'),
    keyType: lastValue(parsed, 't'),
    bits: lastValue(parsed, 'b'),
    names: lastValue(parsed, 'n'),
    identity: lastValue(parsed, 'I'),
    signatureFile: lastValue(parsed, 's'),
    signOp: lastValue(parsed, 'Y'),
    findHost: lastValue(parsed, 'F'),
    removeHost: lastValue(parsed, 'R'),
    hashHosts: has('H'),
    fingerprint: has('l'),
    printPublic: has('y'),
    requireAgent: has('U'),
  };
}

/** Flags ssh-keygen has that select a mode nacre-keygen does not do yet, with what they do. */
export const PENDING_FLAGS: ReadonlyMap<string, string> = new Map([
  ['B', 'bubblebabble digests'],
  ['D', 'PKCS#11 keys'],
  ['K', 'downloading keys from a FIDO authenticator'],
  ['M', 'moduli generation'],
  ['X', 'exporting keys'],
]);
