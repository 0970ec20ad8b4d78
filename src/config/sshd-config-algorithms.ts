// Algorithm lists in sshd_config (Ciphers, MACs, KexAlgorithms,
// HostKeyAlgorithms, PubkeyAcceptedAlgorithms, CASignatureAlgorithms) as sshd 10 reads them: a full
// list, or `+list` appended to the default, `-list` removed from it, `^list`
// put first; names checked against the names sshd knows (a name sshd does
// not know is an error, as it is for sshd); wildcards allowed where sshd
// allows them (key types); the result expanded against everything
// available (kex_assemble_names).
//
// What differs from sshd, on purpose: the defaults and "everything
// available" are sshd's lists (in sshd's order) cut down to what Nacre
// implements, so a name sshd knows but Nacre does not (3des-cbc, hmac-md5,
// the sk-* host key and certificate types) is left out with a warning
// rather than offered to a client that would then fail.
import { globMatch } from '../wire/glob.js';
import { SshdValueError } from './sshd-config-numbers.js';
import { kexAlgorithms } from '../algorithms/kex/index.js';
import { cipherAlgorithms } from '../algorithms/cipher/index.js';
import { macAlgorithms } from '../algorithms/mac.js';
import { allHostKeyAlgorithms, hostCertificateAlgorithms, userKeyAlgorithms } from '../algorithms/hostkey.js';
import { SIGNATURE_ALGORITHMS } from '../keys/signature.js';

/** `casig`: CASignatureAlgorithms, the algorithms a CA may sign user certificates with. */
export type AlgorithmKind = 'cipher' | 'mac' | 'kex' | 'hostkey' | 'pubkey' | 'casig';

// `ssh -Q cipher|mac|kex|key-sig` of OpenSSH 10.0: every name sshd accepts, in its order.
const SSHD_CIPHERS = '3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com';
const SSHD_MACS =
  'hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com';
const SSHD_KEX =
  'diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256';
const SSHD_KEY_TYPES =
  'ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com';
// `ssh -Q sig`: the signature algorithms CASignatureAlgorithms names (plain key types only, no certificates).
const SSHD_SIGNATURES =
  'ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512';

// sshd 10.0's defaults (`sshd -T` with nothing set).
const DEFAULT_KEY_TYPES =
  'ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256';
const SSHD_DEFAULTS: Readonly<Record<AlgorithmKind, string>> = {
  cipher: 'chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr',
  mac: 'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  kex: 'mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521',
  hostkey: DEFAULT_KEY_TYPES,
  pubkey: DEFAULT_KEY_TYPES,
  casig: 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256',
};

const SSHD_KNOWN: Readonly<Record<AlgorithmKind, readonly string[]>> = {
  cipher: SSHD_CIPHERS.split(','),
  mac: SSHD_MACS.split(','),
  kex: SSHD_KEX.split(','),
  hostkey: SSHD_KEY_TYPES.split(','),
  pubkey: SSHD_KEY_TYPES.split(','),
  casig: SSHD_SIGNATURES.split(','),
};

const NACRE: Readonly<Record<AlgorithmKind, ReadonlySet<string>>> = {
  cipher: new Set(cipherAlgorithms.map((a) => a.name)),
  mac: new Set(macAlgorithms.map((a) => a.name)),
  kex: new Set(kexAlgorithms.map((a) => a.name)),
  hostkey: new Set(allHostKeyAlgorithms.map((a) => a.name)),
  pubkey: new Set([...hostCertificateAlgorithms, ...userKeyAlgorithms].map((a) => a.name)),
  // The signatures Nacre verifies on a certificate (not yet those of a security-key CA).
  casig: new Set(Object.keys(SIGNATURE_ALGORITHMS)),
};

const KEYWORD: Readonly<Record<AlgorithmKind, string>> = {
  cipher: 'Ciphers', mac: 'MACs', kex: 'KexAlgorithms', hostkey: 'HostKeyAlgorithms', pubkey: 'PubkeyAcceptedAlgorithms', casig: 'CASignatureAlgorithms',
};

const hasWildcard = (s: string) => /[*?]/.test(s);
const wildcardsAllowed = (kind: AlgorithmKind) => kind === 'hostkey' || kind === 'pubkey' || kind === 'casig';

/** What sshd has available, cut to what Nacre implements, in sshd's order. */
function available(kind: AlgorithmKind): string[] {
  return SSHD_KNOWN[kind].filter((n) => NACRE[kind].has(n));
}

/** sshd's default list for `kind`, cut to what Nacre implements. */
export function defaultAlgorithms(kind: AlgorithmKind): string[] {
  return SSHD_DEFAULTS[kind].split(',').filter((n) => NACRE[kind].has(n));
}

/** null when sshd would accept `spec`, else sshd's complaint. */
export function validAlgorithmSpec(kind: AlgorithmKind, spec: string): string | null {
  if (spec.startsWith('-')) return null; // sshd does not check what it removes
  const body = spec.startsWith('+') || spec.startsWith('^') ? spec.slice(1) : spec;
  const complaint =
    kind === 'cipher' ? `Bad SSH2 cipher spec '${spec}'.` : kind === 'mac' ? `Bad SSH2 mac spec '${spec}'.` : kind === 'kex' ? `Bad SSH2 KexAlgorithms '${spec}'.` : `Bad key types '${spec}'.`;
  if (body === '') return complaint;
  for (const name of body.split(',')) {
    if (wildcardsAllowed(kind) && hasWildcard(name)) {
      // sshd checks a pattern against every key type it knows (certificates too, even for CASignatureAlgorithms).
      const known = kind === 'casig' ? [...SSHD_KNOWN.casig, ...SSHD_KNOWN.pubkey] : SSHD_KNOWN[kind];
      if (!known.some((k) => globMatch(k, name))) return complaint;
    } else if (!SSHD_KNOWN[kind].includes(name)) {
      return complaint;
    }
  }
  return null;
}

/** Names in `list` (comma-separated, patterns allowed) that match nothing in `available`, so were dropped. */
function concat(into: string[], names: readonly string[]): void {
  for (const n of names) if (!into.includes(n)) into.push(n);
}

export interface AssembledAlgorithms {
  readonly names: string[];
  /** Names sshd would have used that Nacre does not implement. */
  readonly dropped: string[];
}

/**
 * The list a spec gives (kex_assemble_names), against Nacre's cut of sshd's
 * default and available lists. Throws SshdValueError when the
 * result is empty. `spec` must have passed validAlgorithmSpec.
 */
export function assembleAlgorithms(kind: AlgorithmKind, spec: string): AssembledAlgorithms {
  const defaults = defaultAlgorithms(kind);
  const all = available(kind);
  const dropped: string[] = [];
  let names: string[];
  const mod = spec[0];
  if (mod === '-') {
    const patterns = spec.slice(1).split(',');
    names = defaults.filter((n) => !patterns.some((p) => globMatch(n, p)));
  } else {
    const list: string[] = [];
    const body = mod === '+' || mod === '^' ? spec.slice(1) : spec;
    if (mod === '+') concat(list, [...SSHD_DEFAULTS[kind].split(','), ...body.split(',')]);
    else if (mod === '^') concat(list, [...body.split(','), ...SSHD_DEFAULTS[kind].split(',')]);
    else concat(list, body.split(','));
    names = [];
    for (const pattern of list) {
      const matching = all.filter((n) => globMatch(n, pattern));
      concat(names, matching);
      if (matching.length === 0 && SSHD_KNOWN[kind].some((n) => globMatch(n, pattern))) {
        // Only sshd's own names match this: Nacre does not implement them.
        for (const n of SSHD_KNOWN[kind]) if (globMatch(n, pattern) && !dropped.includes(n)) dropped.push(n);
      }
    }
    // Names from sshd's default that Nacre lacks are not worth a warning (they were never asked for).
    const asked = body.split(',');
    for (let i = dropped.length - 1; i >= 0; i--) if (!asked.some((p) => globMatch(dropped[i]!, p))) dropped.splice(i, 1);
  }
  if (names.length === 0) throw new SshdValueError(`${KEYWORD[kind]} '${spec}': no algorithm left that Nacre implements`);
  return { names, dropped };
}
