// Options of `connect()`, and turning them into what the core needs.
import { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { userInfo } from 'node:os';
import type { AlgorithmPreferences } from '../algorithms/index.js';
import type { RekeyLimits } from '../core/kex/rekey.js';
import type { AuthSigner } from '../keys/index.js';
import { KeyFileError } from '../keys/pem.js';
import { certificateSigner } from '../keys/certificate.js';
import { signerFromKeyObject } from '../keys/signer.js';
import { signerFromPrivateKeyFile } from '../keys/openssh.js';
import { toCertificate, type CertificateInput } from '../keys/host-certificate.js';
import type { HostKeysChange } from './host-key-update.js';
import { expandHome, isMissingFile, MAX_TRUST_FILE_BYTES, readBounded } from '../io/node/files.js';

/** A line of a known_hosts file. */
export interface KnownHostsLine {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly keyType: string;
}

/** The host certificate the server presented (a `*-cert-v01@openssh.com` host key algorithm). */
export interface HostCertificateInfo {
  /** The certificate blob, as the server sent it. */
  readonly blob: Uint8Array;
  readonly certType: string;
  readonly keyId: string;
  readonly serial: bigint;
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  /** The CA's public key blob and fingerprint. */
  readonly caKey: Uint8Array;
  readonly caFingerprint: string;
  /**
   * True when the certificate vouched for the key: its CA is listed as
   * `@cert-authority` for this host in known_hosts (`knownHostsEntry` is that
   * line) and it is a valid host certificate for the host name connected to.
   */
  readonly trusted: boolean;
  /**
   * Why it did not (untrusted CA, expired, another host's ...): the key was
   * then checked as a plain key, as ssh does.
   */
  readonly problem?: string;
}

export interface HostKeyInfo {
  readonly host: string;
  readonly port: number;
  /** SSH public key blob; for a host certificate, the certified key's plain blob. */
  readonly key: Uint8Array;
  readonly keyType: string;
  /** `SHA256:...`, as OpenSSH prints it. */
  readonly fingerprint: string;
  /** The signature algorithm the key exchange used. */
  readonly algorithm: string;
  /**
   * What the known_hosts file says: `match`, `mismatch` (the host is known by
   * another key of this type, or only by keys of other types: OpenSSH 10
   * calls both a changed host key), `revoked` (an `@revoked` line names this
   * key), `unknown`, or `not-checked` with `knownHosts: false`.
   */
  readonly knownHosts: 'match' | 'mismatch' | 'revoked' | 'unknown' | 'not-checked';
  /** The known_hosts file consulted (absent with `knownHosts: false`). */
  readonly knownHostsFile?: string;
  /** The line that decided: the matching one, the `@revoked` one, or for a mismatch the first conflicting one. */
  readonly knownHostsEntry?: KnownHostsLine;
  /** Other keys known_hosts holds for this host. */
  readonly otherKnownKeys?: readonly KnownHostsLine[];
  /** Present when the server presented a host certificate. */
  readonly certificate?: HostCertificateInfo;
  /** Set on `Client.hostKey` when `acceptUnknownHostKey` added this key to known_hosts: the line written. */
  readonly addedToKnownHosts?: { readonly file: string; readonly line: number };
}

/**
 * What `verifyHostKey` returns. `true` trusts a key known_hosts lists or does
 * not know; it never overrides a `mismatch` or `revoked` verdict. To trust
 * such a key anyway, name the verdict: `{ accept: 'mismatch' }` or
 * `{ accept: 'revoked' }` (it then trusts that verdict and the ordinary ones,
 * not the other). Anything else refuses.
 */
export type HostKeyDecision = boolean | { readonly accept: 'mismatch' | 'revoked' };

export interface KeyboardInteractiveChallenge {
  readonly name: string;
  readonly instruction: string;
  readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
}

/**
 * Key file text or bytes (OpenSSH, PEM, PKCS#8), a node:crypto private
 * KeyObject, or a signer: a loaded `KeySigner`, or any `AuthSigner` (one
 * whose `sign` may return a promise, such as a key held by an agent).
 */
export type PrivateKeyInput = string | Uint8Array | AuthSigner | KeyObject | CertifiedPrivateKey;

/**
 * A private key with an OpenSSH user certificate for it (as ssh's
 * CertificateFile): the certificate is offered first, then the plain key.
 */
export interface CertifiedPrivateKey {
  readonly key: string | Uint8Array | AuthSigner | KeyObject;
  /** The certificate: its `-cert.pub` line, its blob, or a parsed one. */
  readonly certificate: CertificateInput;
}

export interface ConnectOptions {
  readonly host?: string;
  /** Default 22. */
  readonly port?: number;
  /** Default: the local user name. */
  readonly username?: string;
  readonly password?: string;
  /** Private key(s): file contents (OpenSSH, PEM, PKCS#8), or keys already loaded. */
  readonly privateKey?: PrivateKeyInput | readonly PrivateKeyInput[];
  /**
   * Private key files to read, as `ssh -i` (`~` expands to the home
   * directory), after `privateKey`. A `<file>-cert.pub` next to a key is
   * offered before it, as ssh does.
   */
  readonly privateKeyFile?: string | readonly string[];
  /** Passphrase for encrypted private keys. */
  readonly passphrase?: string;
  /**
   * Answers keyboard-interactive prompts. Without it, keyboard-interactive is
   * still tried when `password` is set, answering a single hidden prompt with
   * the password (what servers that ask only for the password expect); with
   * neither, it is not tried. Answer one string per prompt: anything else
   * is not sent, and the method is given up.
   */
  readonly keyboardInteractive?: (challenge: KeyboardInteractiveChallenge) => readonly string[] | null | Promise<readonly string[] | null>;
  /** Called when the server says the password expired; return the new one (or null to give up). */
  readonly changePassword?: (prompt: string) => string | null | Promise<string | null>;
  /**
   * Decides whether to trust the server's host key, after known_hosts was
   * consulted (`info.knownHosts`, `info.knownHostsEntry`). Return `true` to
   * trust a key that matches or is unknown, `false` to refuse, and
   * `{ accept: 'mismatch' }` / `{ accept: 'revoked' }` to trust a key that
   * contradicts known_hosts (`true` never does). Without it, the key must
   * match known_hosts, or be unknown with `acceptUnknownHostKey`.
   */
  readonly verifyHostKey?: (info: HostKeyInfo) => HostKeyDecision | Promise<HostKeyDecision>;
  /**
   * known_hosts file to check (and to add keys to); default
   * `~/.ssh/known_hosts`; false to skip. Several files (UserKnownHostsFile)
   * are all consulted, and keys are added to the first.
   */
  readonly knownHosts?: string | readonly string[] | false;
  /**
   * OpenSSH's `StrictHostKeyChecking accept-new`: trust a host key known_hosts
   * does not list, and add it to the `knownHosts` file (atomically; the file
   * and its directory are created, 0600 and 0700, if absent), so the next
   * connection must present the same key. Never a key that contradicts
   * known_hosts, nor a new key type for a host known by other keys. With
   * `verifyHostKey`, the callback still decides; an unknown key it trusts is
   * then added. If the key cannot be written, the connection fails.
   */
  readonly acceptUnknownHostKey?: boolean;
  /** Write host names added by `acceptUnknownHostKey` hashed (`|1|salt|hash`), as OpenSSH's `HashKnownHosts yes`; default false. */
  readonly hashKnownHosts?: boolean;
  readonly algorithms?: AlgorithmPreferences;
  /** Keepalive probes when the server is silent (ServerAliveInterval/CountMax); default 15 s × 3; false disables. */
  readonly keepalive?: { readonly intervalMs: number; readonly countMax: number } | false;
  /** TCP connect timeout, default 20 s. */
  readonly connectTimeout?: number;
  /** Time for key exchange and authentication together, default 60 s. */
  readonly readyTimeout?: number;
  /**
   * Time (ms) for the server's identification line once connected, default
   * 10 s; 0 leaves only `readyTimeout`. A server that is not an SSH server
   * fails with a VersionError quoting what it sent.
   */
  readonly identTimeout?: number;
  readonly signal?: AbortSignal;
  /** An already-open byte stream to run SSH over (jump hosts, custom transports). */
  readonly sock?: Duplex;
  readonly rekey?: Partial<RekeyLimits>;
  /**
   * Default `maxBuffer` of `exec()`: bytes of stdout, and of stderr, it
   * collects at most before closing the channel and rejecting with
   * MaxBufferError. Default 64 MiB.
   */
  readonly maxBuffer?: number;
  /**
   * Milliseconds to wait for the server to answer a channel open (exec,
   * spawn, shell, subsystem, direct-tcpip, forwardLocal's connections)
   * before rejecting with TimeoutError; default 60 s; 0 waits forever. Also
   * the time a `handleChannelOpen` handler gets to answer the server.
   */
  readonly channelOpenTimeout?: number;
  /**
   * Milliseconds to wait for the reply to a global request (forwardRemote
   * and its close) before rejecting with TimeoutError; default 60 s; 0 waits
   * forever. Also the time a `handleGlobalRequest` handler gets to answer.
   */
  readonly globalRequestTimeout?: number;
  /**
   * Milliseconds to wait for the reply to a channel request that wants one
   * (exec, shell, subsystem, pty-req, env) before rejecting with TimeoutError
   * and closing the channel; default 60 s; 0 waits forever.
   */
  readonly channelRequestTimeout?: number;
  /** Called with the server's USERAUTH_BANNER text. */
  readonly onBanner?: (message: string) => void;

  // What ssh_config and `nacre` need of the library (issue 11). Each group is
  // owned by one module; the comments are the contract.

  /**
   * Take options from ssh_config, treating `host` as an alias (as `ssh host`):
   * `true` reads `~/.ssh/config` then `/etc/ssh/ssh_config`, a string reads
   * that file only (as `ssh -F`). Options given here win over the files'
   * (src/client/config-options.ts).
   */
  readonly config?: boolean | string;
  /**
   * `ssh -J` / ProxyJump: jump hosts as ssh writes them (`[user@]host[:port]`
   * or `ssh://…`, comma-separated, each reached through the previous one), or
   * the hops' own options; `'none'` disables. (src/client/jump.ts)
   */
  readonly proxyJump?: string | readonly ConnectOptions[];
  /** ProxyCommand: run with `sh -c` (`%h %p %r %n %%` expanded), SSH over its stdin and stdout. */
  readonly proxyCommand?: string;
  /** `ssh -b`: local address to connect from. */
  readonly localAddress?: string;
  /** `ssh -4` / `-6`: address family for name resolution; default either. */
  readonly family?: 4 | 6;
  /** ConnectionAttempts: tries of the TCP connection, one second apart; default 1. */
  readonly connectionAttempts?: number;

  /**
   * An SSH agent for public-key authentication (src/agent, src/client/agent-auth.ts):
   * `true` uses `$SSH_AUTH_SOCK`, a string is the socket path (IdentityAgent);
   * default false. Its keys are tried in OpenSSH's order (see identitiesOnly).
   */
  readonly agent?: boolean | string;
  /**
   * ForwardAgent / `ssh -A`: answer the server's `auth-agent@openssh.com`
   * channels by relaying to the agent (`true`: the `agent` socket or
   * `$SSH_AUTH_SOCK`; a string: that socket).
   */
  readonly forwardAgent?: boolean | string;
  /** IdentitiesOnly: of the agent's keys, offer only those given by `privateKey`/`privateKeyFile`. */
  readonly identitiesOnly?: boolean;
  /** AddKeysToAgent: add keys loaded from files to the agent after they were used (`confirm`, `lifetime` in seconds as ssh-add -c / -t). */
  readonly addKeysToAgent?: boolean | { readonly confirm?: boolean; readonly lifetime?: number };

  /** HostKeyAlias: the name to look up and record in known_hosts instead of `host`. */
  readonly hostKeyAlias?: string;
  /** GlobalKnownHostsFile(s): also consulted, never written; default `/etc/ssh/ssh_known_hosts` with `config`, none otherwise. */
  readonly globalKnownHosts?: string | readonly string[] | false;
  /** RevokedHostKeys: a KRL or a file of public keys; a host key (or host certificate CA) it lists is refused. */
  readonly revokedHostKeys?: string;
  /**
   * RequiredRSASize: the fewest bits an RSA host key (plain or certified)
   * may have; default 1024, below which no RSA key is accepted anyway. A
   * smaller host key fails the connection with HostKeyRejectedError ("Bad
   * server host key: Invalid key length"), before known_hosts is consulted.
   */
  readonly requiredRsaSize?: number;
  /**
   * CASignatureAlgorithms: the signature algorithms a host certificate's CA
   * may have used; default DEFAULT_CA_SIGNATURE_ALGORITHMS (no `ssh-rsa`).
   * A certificate signed otherwise does not vouch for the key, which is then
   * checked as a plain key (`HostKeyInfo.certificate.problem` says why), as ssh does.
   */
  readonly caSignatureAlgorithms?: readonly string[];
  /**
   * PermitRemoteOpen: where a remote dynamic forward (`forwardRemote` with
   * `connectTo: 'socks'`) may connect for the server: `['any']` (the
   * default), `['none']`, or `host:port` entries (`[v6]:port`; `*` for any
   * host or any port; names compared as written, not looked up). A SOCKS
   * request for anything else is answered "not allowed" and its channel closed.
   */
  readonly permitRemoteOpen?: readonly string[];
  /**
   * UpdateHostKeys: learn the keys announced by the server (`hostkeys-00@openssh.com`,
   * proven with `hostkeys-prove-00`) into `knownHosts`. A function is
   * UpdateHostKeys `ask`: it sees the change and returns whether to write it
   * (src/client/host-key-update.ts).
   */
  readonly updateHostKeys?: boolean | ((change: HostKeysChange) => boolean | Promise<boolean>);

  /**
   * A trace of the connection as `ssh -v` prints it (version, algorithms,
   * host key, methods tried, channels, forwardings): called with a level
   * (1–3, as -v, -vv, -vvv) and a line without the `debugN: ` prefix.
   */
  readonly debug?: (level: 1 | 2 | 3, message: string) => void;
  /**
   * Asks for the password when the server lets the password method be tried
   * and `password` is not set (as ssh prompts `user@host's password:`), and
   * again after a wrong one, `passwordAttempts` times in all (`attempt`
   * counts from 1); null gives the method up. (src/client/auth-answers.ts, for `nacre`)
   */
  readonly askPassword?: (request: { readonly username: string; readonly host: string; readonly port: number; readonly attempt: number }) => string | null | Promise<string | null>;
  /**
   * How many times `askPassword` may be asked (ssh's NumberOfPasswordPrompts);
   * default 3. When set, keyboard-interactive with `keyboardInteractive` is
   * also begun again after a failure up to this many times in all, as ssh
   * does (default: once).
   */
  readonly passwordAttempts?: number;
  /**
   * The order authentication methods are tried in (ssh's
   * PreferredAuthentications); a method not named is not tried. Default
   * publickey, keyboard-interactive, password.
   */
  readonly authMethods?: readonly ('publickey' | 'keyboard-interactive' | 'password')[];
}

export function defaultUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

function loadSigner(k: unknown, passphrase: string | undefined): AuthSigner {
  if (typeof k === 'string' || k instanceof Uint8Array) return signerFromPrivateKeyFile(k, passphrase);
  if (k instanceof KeyObject) return signerFromKeyObject(k);
  const s = k as Partial<AuthSigner> | null;
  if (s && typeof s.keyType === 'string' && s.publicBlob instanceof Uint8Array && typeof s.sign === 'function') return s as AuthSigner;
  throw new KeyFileError('privateKey must be key file text, its bytes, a KeyObject, a signer (keyType, publicBlob, sign) or { key, certificate }', 'unsupported');
}

/** `key` presenting `certificate`; KeyFileError (naming `what`) when it is not a user certificate for that key. */
export function withCertificate(key: AuthSigner, certificate: CertificateInput, what: string, path?: string): AuthSigner {
  let cert;
  try {
    cert = toCertificate(certificate);
  } catch (err) {
    throw new KeyFileError(`${what}: ${(err as Error).message}`, 'malformed', { path, cause: err });
  }
  if (cert.kind !== 'user') throw new KeyFileError(`${what} is a ${cert.kind} certificate, not a user one`, 'unsupported', { path });
  try {
    return certificateSigner(key, cert);
  } catch (err) {
    throw new KeyFileError(`${what}: ${(err as Error).message}`, 'malformed', { path, cause: err });
  }
}

function isCertified(k: unknown): k is CertifiedPrivateKey {
  return typeof k === 'object' && k !== null && !(k instanceof Uint8Array) && !(k instanceof KeyObject) && 'key' in k && 'certificate' in k;
}

/** The signers for `privateKey`; a `{ key, certificate }` gives two, the certificate first. */
export function loadSigners(input: ConnectOptions['privateKey'], passphrase?: string): AuthSigner[] {
  if (input === undefined) return [];
  const list = Array.isArray(input) ? input : [input as PrivateKeyInput];
  return list.flatMap((k) => {
    if (!isCertified(k)) return [loadSigner(k, passphrase)];
    const key = loadSigner(k.key, passphrase);
    return [withCertificate(key, k.certificate, 'privateKey certificate'), key];
  });
}

/** The known_hosts file to use and its text ('' when it does not exist yet); null with `false`. */
export function readKnownHosts(option: string | false | undefined): { path: string; text: string } | null {
  if (option === false) return null;
  const path = expandHome(option ?? '~/.ssh/known_hosts');
  // ssh reads /dev/null as an empty file (`UserKnownHostsFile=/dev/null`, the
  // usual "remember nothing"); it is a device, which readBounded refuses.
  if (path === '/dev/null') return { path, text: '' };
  try {
    return { path, text: readBounded(path, MAX_TRUST_FILE_BYTES, 'known_hosts file').toString('utf8') };
  } catch (err) {
    if (isMissingFile(err)) return { path, text: '' };
    throw err;
  }
}
