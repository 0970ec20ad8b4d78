// Options of `connect()`, and turning them into what the core needs.
import { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { userInfo } from 'node:os';
import type { AlgorithmPreferences } from '../algorithms/index.js';
import type { RekeyLimits } from '../core/kex/rekey.js';
import type { KeySigner } from '../keys/index.js';
import { KeyFileError, signerFromKeyObject, signerFromPrivateKeyFile } from '../keys/index.js';
import { expandHome, isMissingFile, MAX_TRUST_FILE_BYTES, readBounded } from '../io/node/files.js';

export interface HostKeyInfo {
  readonly host: string;
  readonly port: number;
  /** SSH public key blob. */
  readonly key: Uint8Array;
  readonly keyType: string;
  /** `SHA256:...`, as OpenSSH prints it. */
  readonly fingerprint: string;
  /** The signature algorithm the key exchange used. */
  readonly algorithm: string;
  /** What the known_hosts file says, when one was consulted. */
  readonly knownHosts: 'match' | 'mismatch' | 'revoked' | 'unknown' | 'not-checked';
}

export interface KeyboardInteractiveChallenge {
  readonly name: string;
  readonly instruction: string;
  readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
}

/** Key file text or bytes (OpenSSH, PEM, PKCS#8), a node:crypto private KeyObject, or a KeySigner. */
export type PrivateKeyInput = string | Uint8Array | KeySigner | KeyObject;

export interface ConnectOptions {
  readonly host?: string;
  /** Default 22. */
  readonly port?: number;
  /** Default: the local user name. */
  readonly username?: string;
  readonly password?: string;
  /** Private key(s): file contents (OpenSSH, PEM, PKCS#8), or keys already loaded. */
  readonly privateKey?: PrivateKeyInput | readonly PrivateKeyInput[];
  /** Passphrase for encrypted private keys. */
  readonly passphrase?: string;
  /**
   * Answers keyboard-interactive prompts. Without it, keyboard-interactive is
   * still tried when `password` is set, answering a single hidden prompt with
   * the password (what servers that ask only for the password expect); with
   * neither, it is not tried.
   */
  readonly keyboardInteractive?: (challenge: KeyboardInteractiveChallenge) => readonly string[] | Promise<readonly string[]>;
  /** Called when the server says the password expired; return the new one (or null to give up). */
  readonly changePassword?: (prompt: string) => string | null | Promise<string | null>;
  /**
   * Decides whether to trust the server's host key. Without it, the key must be
   * in `knownHosts` — unless `acceptUnknownHostKey` is set.
   */
  readonly verifyHostKey?: (info: HostKeyInfo) => boolean | Promise<boolean>;
  /** known_hosts file to check; default `~/.ssh/known_hosts`; false to skip. */
  readonly knownHosts?: string | false;
  /** Trust a host key that known_hosts does not list (never one that contradicts it). */
  readonly acceptUnknownHostKey?: boolean;
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
   * before rejecting with TimeoutError; default 60 s; 0 waits forever.
   */
  readonly channelOpenTimeout?: number;
  /**
   * Milliseconds to wait for the reply to a global request (forwardRemote
   * and its close) before rejecting with TimeoutError; default 60 s; 0 waits forever.
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
}

export function defaultUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

export function loadSigners(input: ConnectOptions['privateKey'], passphrase?: string): KeySigner[] {
  if (input === undefined) return [];
  const list = Array.isArray(input) ? input : [input as PrivateKeyInput];
  return list.map((k) => {
    if (typeof k === 'string' || k instanceof Uint8Array) return signerFromPrivateKeyFile(k, passphrase);
    if (k instanceof KeyObject) return signerFromKeyObject(k);
    const s = k as Partial<KeySigner> | null;
    if (s && s.publicBlob instanceof Uint8Array && typeof s.sign === 'function') return s as KeySigner;
    throw new KeyFileError('privateKey must be key file text, its bytes, a KeyObject or a KeySigner', 'unsupported');
  });
}

/**
 * The known_hosts text to check against. A missing default file is no file
 * (null); a missing file the caller named lists no hosts yet. Any other
 * failure to read it is a KeyFileError naming the file.
 */
export function readKnownHosts(option: string | false | undefined): { path: string; text: string } | null {
  if (option === false) return null;
  const path = expandHome(option ?? '~/.ssh/known_hosts');
  try {
    return { path, text: readBounded(path, MAX_TRUST_FILE_BYTES, 'known_hosts file').toString('utf8') };
  } catch (err) {
    if (isMissingFile(err)) return option === undefined ? null : { path, text: '' };
    throw err;
  }
}
