// ssh_config → ConnectOptions: what `connect({ host: 'prod', config: true })`
// and `nacre` take from a resolved SshConfig. Paths get ssh's `~`, `${VAR}`
// and % expansion here; identities are ssh's defaults when none is
// configured (only the files present), each with its `-cert.pub` and any
// CertificateFile that certifies it. Options given to connect() win.
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { KeyFileError } from '../keys/pem.js';
import type { AuthSigner } from '../keys/signer.js';
import { signerFromPrivateKeyPath } from '../io/node/key-files.js';
import { isMissingFile, readBounded } from '../io/node/files.js';
import { readSshConfig } from '../io/node/ssh-config-files.js';
import {
  caSignatureAlgorithmList,
  DEFAULT_GLOBAL_KNOWN_HOSTS,
  DEFAULT_IDENTITY_FILES,
  defaultUpdateHostKeys,
  expandConfigPath,
} from '../config/ssh-config-print.js';
import type { SshConfig } from '../config/ssh-config-resolve.js';
import { withCertificate, type ConnectOptions } from './options.js';
import { findCompression } from '../algorithms/compression.js';

type Env = Readonly<Record<string, string | undefined>>;

/** IdentityAgent / ForwardAgent `$NAME`: the socket path is that variable's value (false when unset). */
const ENV_NAME = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;
function agentSocket(value: string, keyword: string, env: Env, path: (v: string, k: string) => string): string | false {
  const m = ENV_NAME.exec(value);
  if (m) return env[m[1]!] || false;
  return path(value, keyword);
}

/** The identity and certificate files a config names (or ssh's default identities), expanded, only those present. */
export function configIdentityFiles(config: SshConfig, env: Env = process.env): { readonly identities: string[]; readonly certificates: string[]; readonly defaults: boolean } {
  const v = config.values;
  const expand = (f: string, keyword: string) => expandConfigPath(f, keyword, config.tokens, env);
  const defaults = v.IdentityFile === undefined;
  const identities = (v.IdentityFile ?? DEFAULT_IDENTITY_FILES).map((f) => expand(f, 'IdentityFile')).filter((p) => existsSync(p));
  const certificates = (v.CertificateFile ?? []).map((f) => expand(f, 'CertificateFile')).filter((p) => existsSync(p));
  return { identities, certificates, defaults };
}

function readText(path: string): string | null {
  try {
    return readBounded(path, 512 * 1024, 'certificate file').toString('utf8').trim();
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw err;
  }
}

/**
 * The signers for a config's identities, in ssh's order: for each identity
 * file its certificates (`<file>-cert.pub`, then any CertificateFile for
 * that key), then the key. A default identity that needs a passphrase not
 * given is skipped (ssh would ask); a configured one is an error.
 */
export function configIdentities(config: SshConfig, passphrase?: string, env: Env = process.env): AuthSigner[] {
  const { identities, certificates, defaults } = configIdentityFiles(config, env);
  const certTexts = certificates.map((path) => ({ path, text: readText(path) }));
  const out: AuthSigner[] = [];
  for (const path of identities) {
    let key: AuthSigner;
    try {
      key = signerFromPrivateKeyPath(path, passphrase);
    } catch (err) {
      const skippable = err instanceof KeyFileError && (err.problem === 'passphrase-required' || err.problem === 'wrong-passphrase' || err.problem === 'not-a-private-key');
      if (defaults && skippable) continue;
      throw err;
    }
    const own = readText(`${path}-cert.pub`);
    for (const cert of [...(own !== null ? [{ path: `${path}-cert.pub`, text: own }] : []), ...certTexts]) {
      if (cert.text === null) continue;
      try {
        out.push(withCertificate(key, cert.text, 'certificate file', cert.path));
      } catch {
        // Not a user certificate for this key: ssh tries it with the other keys.
      }
    }
    out.push(key);
  }
  return out;
}

const TIME_MS = 1000;

/**
 * The ConnectOptions a resolved ssh_config gives (HostName, User, Port,
 * identities, known hosts, algorithms, jump hosts, agent ...), for the
 * options declared in ConnectOptions. `passphrase` unlocks the identity files.
 */
export function sshConfigToConnectOptions(config: SshConfig, opts: { readonly passphrase?: string; readonly env?: Env; readonly loadIdentities?: boolean } = {}): ConnectOptions {
  const env = opts.env ?? process.env;
  const v = config.values;
  const path = (value: string, keyword: string) => expandConfigPath(value, keyword, config.tokens, env);
  const o: Record<string, unknown> = { host: config.hostName, port: config.port, username: config.user };
  if (opts.loadIdentities !== false) {
    const keys = configIdentities(config, opts.passphrase, env);
    if (keys.length > 0) o.privateKey = keys;
  }
  if (v.IdentitiesOnly !== undefined) o.identitiesOnly = v.IdentitiesOnly;
  const agent = v.IdentityAgent;
  if (agent === 'none') o.agent = false;
  else if (agent === undefined || agent === 'SSH_AUTH_SOCK') o.agent = env.SSH_AUTH_SOCK !== undefined && env.SSH_AUTH_SOCK !== '';
  else o.agent = agentSocket(agent, 'IdentityAgent', env, path);
  if (v.ProxyJump !== undefined) o.proxyJump = v.ProxyJump;
  else if (v.ProxyCommand !== undefined && v.ProxyCommand !== 'none') o.proxyCommand = v.ProxyCommand;
  if (v.HostKeyAlias !== undefined) o.hostKeyAlias = v.HostKeyAlias;
  const userFiles = (v.UserKnownHostsFile ?? ['~/.ssh/known_hosts']).filter((f) => f !== 'none').map((f) => path(f, 'UserKnownHostsFile'));
  // ssh reads every user file and writes the first (UpdateHostKeys also edits them, never the global ones).
  o.knownHosts = userFiles.length > 1 ? userFiles : (userFiles[0] ?? false);
  o.globalKnownHosts = (v.GlobalKnownHostsFile ?? DEFAULT_GLOBAL_KNOWN_HOSTS).filter((f) => f !== 'none');
  const strict = v.StrictHostKeyChecking;
  if (strict === 'accept-new' || strict === 'no') o.acceptUnknownHostKey = true;
  if (v.HashKnownHosts !== undefined) o.hashKnownHosts = v.HashKnownHosts;
  if (v.RevokedHostKeys !== undefined && v.RevokedHostKeys !== 'none') o.revokedHostKeys = path(v.RevokedHostKeys, 'RevokedHostKeys');
  o.updateHostKeys = (v.UpdateHostKeys ?? defaultUpdateHostKeys(v)) === 'yes';
  if (v.RequiredRSASize !== undefined) o.requiredRsaSize = v.RequiredRSASize;
  if (v.CASignatureAlgorithms !== undefined) o.caSignatureAlgorithms = caSignatureAlgorithmList(v.CASignatureAlgorithms);
  if (v.PermitRemoteOpen !== undefined) o.permitRemoteOpen = v.PermitRemoteOpen;
  const algorithms: Record<string, string> = {};
  if (v.KexAlgorithms !== undefined) algorithms.kex = v.KexAlgorithms;
  if (v.Ciphers !== undefined) algorithms.cipher = v.Ciphers;
  if (v.MACs !== undefined) algorithms.mac = v.MACs;
  if (v.HostKeyAlgorithms !== undefined) algorithms.hostKey = v.HostKeyAlgorithms;
  // Compression yes: zlib@openssh.com first, where this Node has zlib.
  if (v.Compression === true && findCompression('zlib@openssh.com')) algorithms.compression = '^zlib@openssh.com';
  if (Object.keys(algorithms).length > 0) o.algorithms = algorithms;
  if (v.ConnectTimeout !== undefined && v.ConnectTimeout !== null) o.connectTimeout = v.ConnectTimeout * TIME_MS;
  if (v.ConnectionAttempts !== undefined) o.connectionAttempts = v.ConnectionAttempts;
  if (v.ServerAliveInterval !== undefined) {
    o.keepalive = v.ServerAliveInterval > 0 ? { intervalMs: v.ServerAliveInterval * TIME_MS, countMax: v.ServerAliveCountMax ?? 3 } : false;
  }
  if (v.RekeyLimit !== undefined) {
    const rekey: Record<string, number> = {};
    if (v.RekeyLimit.bytes > 0) rekey.bytes = v.RekeyLimit.bytes;
    if (v.RekeyLimit.seconds > 0) rekey.intervalMs = v.RekeyLimit.seconds * TIME_MS;
    if (Object.keys(rekey).length > 0) o.rekey = rekey;
  }
  if (v.BindAddress !== undefined) o.localAddress = v.BindAddress;
  if (v.AddressFamily === 'inet') o.family = 4;
  else if (v.AddressFamily === 'inet6') o.family = 6;
  const fa = v.ForwardAgent;
  if (fa !== undefined) o.forwardAgent = typeof fa === 'string' ? agentSocket(fa, 'ForwardAgent', env, path) : fa;
  const ak = v.AddKeysToAgent;
  if (ak !== undefined && ak.mode !== 'no' && ak.mode !== 'ask') {
    o.addKeysToAgent = ak.mode === 'yes' && ak.lifetime === undefined ? true : { ...(ak.mode === 'confirm' ? { confirm: true } : {}), ...(ak.lifetime !== undefined ? { lifetime: ak.lifetime } : {}) };
  }
  return o as ConnectOptions;
}

/**
 * What connect() does with `config`: resolves `options.host` as an alias in
 * ssh_config (`true`: ~/.ssh/config then /etc/ssh/ssh_config; a string: that
 * file only) and lays `options` over the result (options given win; a
 * `privateKey`/`privateKeyFile` given replaces the config's identities).
 */
export function applySshConfig(options: ConnectOptions): ConnectOptions {
  if (options.config === undefined || options.config === false) return options;
  if (options.host === undefined) throw new ConfigError('the config option needs a host (the ssh_config alias to look up)');
  const config = readSshConfig({ host: options.host, ...(typeof options.config === 'string' ? { configFile: options.config } : {}) });
  const explicitKeys = options.privateKey !== undefined || options.privateKeyFile !== undefined;
  const base = sshConfigToConnectOptions(config, { ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}), loadIdentities: !explicitKeys });
  const given = Object.fromEntries(Object.entries(options).filter(([k, value]) => value !== undefined && k !== 'host' && k !== 'config'));
  return { ...base, ...given };
}
