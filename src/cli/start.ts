// `npm start`: a personal SSH server for the current user on 127.0.0.1:2222.
// Host keys are made on first run and kept in the user's state directory,
// logins are by public key only (~/.ssh/authorized_keys and ~/.ssh/id_*.pub),
// and shells and commands run as the current user. It is nacred (src/cli/sshd)
// run with embedded settings instead of an sshd_config file: the same
// authentication, forwarding policy, logs and shutdown.
import type { KeyObject } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
// Only the package's public entry point, as every tool under src/cli (checked
// by test/architecture.test.ts): what the tools do, a library user can do.
import {
  fingerprintSha256,
  signerFromKeyObject,
  signerFromPrivateKeyPath,
  type KeySigner,
  isMissingFile,
  MAX_TRUST_FILE_BYTES,
  readBounded,
  writeFileAtomic,
  checkPrivateKeyFile,
  ensurePrivateDirectory,
  unsafeTrustFile,
  parseAuthorizedKeys,
  formatKnownHostLine,
  type AuthorizedKeyEntry,
  type Server,
  runAsCurrentUser,
  DEFAULT_ACCEPT_ENV,
  generatePrivateKey,
  type AuthContext,
} from '../index.js';
import type { Account } from './sshd/accounts.js';
import { embeddedConfig } from './sshd/config.js';
import { Daemon } from './sshd/daemon.js';
import { SshdLog } from './sshd/log.js';
import { personalSftp } from './sshd/sftp.js';

export interface StartOptions {
  /** Default 2222 (or $NACRE_PORT). */
  readonly port?: number;
  /** Default 127.0.0.1 (or $NACRE_HOST). */
  readonly host?: string;
  /** Where host keys and known_hosts live; default $XDG_STATE_HOME/nacre or ~/.local/state/nacre. */
  readonly stateDir?: string;
  /** Home directory whose ~/.ssh holds the keys allowed to log in; default the user's. */
  readonly home?: string;
  /** Progress lines (logins, failed logins, disconnects); default stderr. */
  readonly log?: (line: string) => void;
  /** Client-sent variables passed to programs, as sshd's AcceptEnv patterns; default LANG and LC_* (or $NACRE_ACCEPT_ENV). */
  readonly acceptEnv?: readonly string[];
  /** Where the printed commands are looked for (default $PATH): `nacre` when found there, else `npx nacre`. */
  readonly searchPath?: string;
}

export interface StartedServer {
  readonly server: Server;
  readonly address: AddressInfo;
  readonly username: string;
  readonly stateDir: string;
  readonly knownHostsPath: string;
  /** `ssh-ed25519 SHA256:...` for each host key. */
  readonly fingerprints: readonly string[];
  /** The ssh command that connects with verified host keys. */
  readonly sshCommand: string;
  /** The same with Nacre's own client. */
  readonly nacreCommand: string;
  /** OpenSSH's sftp command for this server's SFTP. */
  readonly sftpCommand: string;
  /** The same with Nacre's own nacre-sftp. */
  readonly nacreSftpCommand: string;
  /** How many keys may log in right now. */
  readonly authorizedKeyCount: number;
  /** Key files found but not used (their modes or owner, a read error), each with why: what to fix rather than make a key. */
  readonly refusedKeyFiles: readonly string[];
  close(): Promise<void>;
}

const HOST_KEYS: readonly { readonly file: string; readonly make: () => KeyObject }[] = [
  { file: 'ssh_host_ed25519_key.pem', make: () => generatePrivateKey('ssh-ed25519') },
  { file: 'ssh_host_ecdsa_key.pem', make: () => generatePrivateKey('ecdsa-sha2-nistp256') },
  { file: 'ssh_host_rsa_key.pem', make: () => generatePrivateKey('ssh-rsa', { bits: 3072 }) },
];

export function defaultStateDir(home = homedir()): string {
  const xdg = process.env.XDG_STATE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'state'), 'nacre');
}

/**
 * Loads the host keys from `dir`, making any that are missing. The keys
 * module reads but does not yet write OpenSSH's private key format, so new
 * keys are stored as PKCS#8 PEM (which `ssh-keygen -y -f` also reads), mode 0600.
 */
export function loadOrCreateHostKeys(dir: string): KeySigner[] {
  // Like sshd with its host keys: a directory or key someone else could
  // write or read is refused, not used.
  ensurePrivateDirectory(dir, 'state directory');
  return HOST_KEYS.map(({ file, make }) => {
    const path = join(dir, file);
    if (existsSync(path)) {
      checkPrivateKeyFile(path, 'host key');
      return signerFromPrivateKeyPath(path);
    }
    const key = make();
    // Exclusive: never over a file that appeared in the meantime; atomic: a
    // crash never leaves half a key for the next start to stumble on.
    writeFileAtomic(path, key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600, { exclusive: true, what: 'host key' });
    return signerFromKeyObject(key);
  });
}

/** sshd's StrictModes for trust files; now in src/io/node/file-permissions.ts. */
export { unsafeTrustFile };

/**
 * Keys allowed to log in: authorized_keys plus the user's own public keys.
 * Read at each attempt. `report` hears about files skipped for unsafe
 * ownership or modes and about lines that could not be used.
 */
export function readUserKeys(home: string, report?: (line: string) => void): AuthorizedKeyEntry[] {
  const ssh = join(home, '.ssh');
  const texts: [string, string][] = [];
  const read = (path: string) => {
    let text: string;
    try {
      text = readBounded(path, MAX_TRUST_FILE_BYTES, 'authorized keys file').toString('utf8');
    } catch (err) {
      // Absent: no keys from it. Unreadable or too large: no keys either, but say so.
      if (!isMissingFile(err)) report?.(`${path}: not used: ${(err as Error & { detail?: string }).detail ?? (err as Error).message}`);
      return;
    }
    const unsafe = unsafeTrustFile(path, home);
    if (unsafe) {
      report?.(`${path}: not used: ${unsafe}`);
      return;
    }
    texts.push([text, path]);
  };
  read(join(ssh, 'authorized_keys'));
  try {
    for (const name of readdirSync(ssh).sort()) if (/^id_[A-Za-z0-9_-]+\.pub$/.test(name)) read(join(ssh, name));
  } catch {
    // no ~/.ssh
  }
  return texts.flatMap(([text, source]) => {
    const parsed = parseAuthorizedKeys(text, source);
    for (const p of parsed.problems) report?.(`${p.source ?? source}:${p.line}: skipped: ${p.reason}`);
    return parsed.entries;
  });
}

/**
 * Writes this instance's known_hosts lines into the file servers sharing the
 * state directory share, in place of any earlier lines for the same
 * [host]:port and keeping the others: another instance on another port goes
 * on matching the command it printed. Replaced by rename, so a reader never
 * sees half a file.
 */
export function updateKnownHosts(path: string, lines: readonly string[]): void {
  const hostField = (line: string) => line.split(/\s+/, 1)[0] ?? '';
  const ours = new Set(lines.map(hostField));
  let kept: string[] = [];
  try {
    kept = readBounded(path, MAX_TRUST_FILE_BYTES, 'known_hosts file')
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !ours.has(hostField(l)));
  } catch (err) {
    if (!isMissingFile(err)) throw err;
  }
  writeFileAtomic(path, [...kept, ...lines].join('\n') + '\n', 0o600, { what: 'known_hosts file' });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** `from 127.0.0.1 port 5555`, as sshd names a client. */
function fromPeer(address: string | undefined, port: number | undefined): string {
  return `${address ?? 'unknown'} port ${port ?? 0}`;
}

/** A username as the client sent it, safe to put on one log line. */
function printable(name: string): string {
  return JSON.stringify(name.slice(0, 100)).slice(1, -1);
}

/**
 * sshd's line for a refused attempt: `Failed publickey for alice from
 * 127.0.0.1 port 5555 ssh2: ED25519 SHA256:...`. Never a password or answer.
 */
export function failedLoginLine(ctx: Pick<AuthContext, 'method' | 'username' | 'publicKey' | 'remoteAddress' | 'remotePort'>, localUser: string): string {
  const who = ctx.username === localUser ? ctx.username : `invalid user ${printable(ctx.username)}`;
  const key = ctx.method === 'publickey' && ctx.publicKey ? `: ${ctx.publicKey.keyType} ${ctx.publicKey.fingerprint}` : '';
  return `Failed ${ctx.method} for ${who} from ${fromPeer(ctx.remoteAddress, ctx.remotePort)} ssh2${key}`;
}

export async function startServer(options: StartOptions = {}): Promise<StartedServer> {
  const home = options.home ?? homedir();
  const port = options.port ?? 2222;
  const host = options.host ?? '127.0.0.1';
  const stateDir = options.stateDir ?? defaultStateDir(home);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const username = userInfo().username;
  // Made (or checked) here, then loaded by nacred as its HostKey files.
  const hostKeys = loadOrCreateHostKeys(stateDir);
  const uid = process.getuid?.();
  const account: Account = { name: username, uid: uid ?? 0, gid: process.getgid?.() ?? 0, home, shell: userShell(), groups: [] };
  const acceptEnv = options.acceptEnv ?? DEFAULT_ACCEPT_ENV;

  // nacred with embedded settings instead of a file: sshd's defaults, and
  // what a personal server wants on top. As sshd, each authorized_keys
  // line's options (from=, command=, restrict, permitopen=, cert-authority
  // with principals= ...) decide whether it lets the key in and what the
  // login may then do; environment= is ignored (PermitUserEnvironment no).
  const config = embeddedConfig({
    ports: [port],
    listenAddresses: [{ host, port }],
    hostKeys: HOST_KEYS.map((k) => join(stateDir, k.file)),
    authorizedKeysFiles: [join(home, '.ssh', 'authorized_keys')],
    passwordAuthentication: false,
    kbdInteractiveAuthentication: false,
    acceptEnv,
    // The library's admission defaults, as before: past 10 connections still
    // logging in new ones are dropped at random, and at most 5 from one
    // address, so ten idle sockets cannot lock the user out.
    perSourceMaxStartups: 5,
    // As before: TCP forwarding for the user (GatewayPorts no: loopback only), no Unix sockets.
    allowStreamLocalForwarding: 'no',
    pidFile: null,
    // Failed key attempts are logged (sshd logs them at VERBOSE).
    logLevel: 'VERBOSE',
  });
  const sshdLog = new SshdLog((line) => log(line), 'verbose');
  const daemon = new Daemon({
    load: () => config,
    log: sshdLog,
    forcedLevel: null,
    deps: {
      // Only the user running the server, with `home` as its home directory.
      accounts: { lookup: async (name) => (name === username ? account : null) },
      runner: {
        canServe: () => null,
        run: (session) => {
          runAsCurrentUser(session, { home, acceptEnv });
          session.onSubsystem = personalSftp(home, sshdLog);
        },
      },
      // The user's own public keys log in too.
      extraKeys: () => readOwnPublicKeys(home, log),
      logStyle: 'npm-start',
    },
  });
  try {
    await daemon.listen();
  } catch (err) {
    throw new Error(`cannot listen on ${host} port ${port}`, { cause: err });
  }
  const bound = daemon.addresses()[0]!;
  const address: AddressInfo = { address: bound.host, port: bound.port, family: bound.host.includes(':') ? 'IPv6' : 'IPv4' };
  const connectHost = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const knownHostsPath = join(stateDir, 'known_hosts');
  const names = isLoopback(connectHost) ? [...new Set([connectHost, 'localhost'])] : [connectHost];
  const lines = names.flatMap((name) => hostKeys.map((k) => formatKnownHostLine(name, address.port, k.publicBlob, { comment: 'nacre' })));
  updateKnownHosts(knownHostsPath, lines);
  const portArg = address.port === 22 ? '' : `-p ${address.port} `;
  // ssh takes an IPv6 address as it is (user@::1); sftp's destination needs the brackets (user@[::1]).
  const bracketed = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
  // In a clone, `npm install` puts no command on PATH: then the commands are run through npx.
  const npx = (command: string): string => (onPath(command, options.searchPath ?? process.env.PATH ?? '') ? command : `npx ${command}`);
  const sftpPort = portArg.replace('-p', '-P');
  const refused: string[] = [];
  const keys = readUserKeys(home, (line) => {
    log(line);
    if (line.includes(': not used: ')) refused.push(line);
  });
  return {
    server: daemon.server,
    address,
    username,
    stateDir,
    knownHostsPath,
    fingerprints: hostKeys.map((k) => `${k.keyType} ${fingerprintSha256(k.publicBlob)}`),
    sshCommand: `ssh ${portArg}-o UserKnownHostsFile=${knownHostsPath} ${username}@${connectHost}`,
    nacreCommand: `${npx('nacre')} ${portArg}-o UserKnownHostsFile=${knownHostsPath} ${username}@${connectHost}`,
    sftpCommand: `sftp ${sftpPort}-o UserKnownHostsFile=${knownHostsPath} ${username}@${bracketed}`,
    nacreSftpCommand: `${npx('nacre-sftp')} ${sftpPort}-o UserKnownHostsFile=${knownHostsPath} ${username}@${bracketed}`,
    authorizedKeyCount: keys.length,
    refusedKeyFiles: refused,
    close: () => daemon.stop(0),
  };
}

/** Whether an executable `name` is in one of `searchPath`'s directories. */
function onPath(name: string, searchPath: string): boolean {
  return searchPath.split(':').some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The user's login shell, as runAsCurrentUser would pick it. */
function userShell(): string {
  try {
    return userInfo().shell || '/bin/sh';
  } catch {
    return '/bin/sh';
  }
}

/** ~/.ssh/id_*.pub: the user's own keys, which npm start also lets in. */
function readOwnPublicKeys(home: string, report?: (line: string) => void): AuthorizedKeyEntry[] {
  const ssh = join(home, '.ssh');
  let names: string[];
  try {
    names = readdirSync(ssh).sort().filter((n) => /^id_[A-Za-z0-9_-]+\.pub$/.test(n));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(ssh, name);
    try {
      const text = readBounded(path, MAX_TRUST_FILE_BYTES, 'public key file').toString('utf8');
      const unsafe = unsafeTrustFile(path, home);
      if (unsafe) {
        report?.(`${path}: not used: ${unsafe}`);
        return [];
      }
      return parseAuthorizedKeys(text, path).entries;
    } catch (err) {
      if (!isMissingFile(err)) report?.(`${path}: not used: ${(err as Error).message}`);
      return [];
    }
  });
}

function usage(): string {
  return [
    'usage: npm start -- [--port N] [--host ADDRESS] [--accept-env PATTERNS]',
    '',
    'Runs a Nacre SSH server for the current user (default 127.0.0.1:2222;',
    'also $NACRE_PORT and $NACRE_HOST). Logins use your SSH public keys.',
    '--accept-env (or $NACRE_ACCEPT_ENV) lists the variables a client may send,',
    "as sshd's AcceptEnv: space-separated patterns, default 'LANG LC_*'.",
  ].join('\n');
}

function parseArgs(argv: readonly string[]): { port: number; host: string; acceptEnv: string[] } | string {
  let port = Number(process.env.NACRE_PORT ?? 2222);
  let host = process.env.NACRE_HOST ?? '127.0.0.1';
  let acceptEnv = process.env.NACRE_ACCEPT_ENV ?? DEFAULT_ACCEPT_ENV.join(' ');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--port' || flag === '-p') port = Number(value());
    else if (flag === '--host' || flag === '-h') host = value() ?? '';
    else if (flag === '--accept-env') acceptEnv = value() ?? '';
    else if (flag === '--help') return usage();
    else return `unknown argument ${a}\n\n${usage()}`;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `bad port\n\n${usage()}`;
  if (!host) return `bad host\n\n${usage()}`;
  return { port, host, acceptEnv: acceptEnv.split(/\s+/).filter((p) => p !== '') };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    console.error(args);
    process.exit(args.startsWith('usage') ? 0 : 2);
  }
  let started: StartedServer;
  try {
    started = await startServer(args);
  } catch (e) {
    console.error(`nacre: cannot start the server: ${(e as Error).message}`);
    process.exit(1);
  }
  const out = [
    `Nacre SSH server listening on ${started.address.address}:${started.address.port}`,
    'Host keys:',
    ...started.fingerprints.map((f) => `  ${f}`),
    `State directory: ${started.stateDir}`,
    '',
    'Connect with:',
    `  ${started.sshCommand}`,
    `  ${started.nacreCommand}`,
    'Files, over SFTP:',
    `  ${started.sftpCommand}`,
    `  ${started.nacreSftpCommand}`,
  ];
  if (started.authorizedKeyCount === 0 && started.refusedKeyFiles.length > 0) {
    // A key is there but refused (StrictModes): a new key would be refused the same way.
    out.push(
      '',
      `Your key files are not used (sshd's StrictModes checks, as nacred applies them):`,
      ...started.refusedKeyFiles.map((line) => `  ${line}`),
      'Fix their modes or owner (for example: chmod go-w ~ ~/.ssh ~/.ssh/authorized_keys),',
      'then restart this server (npm start).',
    );
  } else if (started.authorizedKeyCount === 0) {
    out.push(
      '',
      `No SSH public key found for ${started.username} (looked in ~/.ssh/authorized_keys and ~/.ssh/id_*.pub).`,
      'Make one with:',
      '  ssh-keygen -t ed25519',
      'then restart this server (npm start).',
    );
  }
  out.push('', 'Press Ctrl-C to stop.');
  console.log(out.join('\n'));

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nStopping...');
    started.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Run as the command: the bins' heap tuning (common/heap-tuning.ts) first.
  void import('./common/heap-tuning.js').then(() => main());
}
