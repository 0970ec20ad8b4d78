// A loaded sshd_config turned into createServer's options. The parts that
// are per server (host keys, algorithms, MaxStartups, MaxAuthTries,
// LoginGraceTime, Banner, ClientAlive*, MaxSessions) take the global
// values; the parts sshd decides per connection (everything a Match block
// may change for a user or address: authentication, forwarding, sessions)
// are resolved per request through `settingsFor`, so a Match block applies
// where sshd applies it.
import { existsSync, readFileSync } from 'node:fs';
import {
  runAsCurrentUser,
  runAsUser,
  forwardingAsUser,
  PasswordFile,
  UserAccountError,
  signerFromPrivateKeyPath,
  checkPrivateKeyFile,
  parseCertificateLine,
  readBounded,
  MAX_TRUST_FILE_BYTES,
  type AuthorizedKeyEntry,
  type ServerOptions,
  type SessionChannel,
  type Signer,
  type SshdMatchSpec,
  type SshdSettings,
  type ForwardRequestOrigin,
  type PerSourcePenalties,
} from '../../index.js';
import type { Account, AccountSource } from './accounts.js';
import { judgeAttempt, rsaKeyTooSmall, type AuthDeps, type LogStyle, type PasswordCheck } from './auth-policy.js';
import { forwardingPolicy } from './forward-policy.js';
import { printable, type SshdLog } from './log.js';
import type { OncePerConnection } from './events-log.js';
import { internalSftpLog } from './sftp.js';

/** A parsed configuration: the global settings and Match resolution for one connection. */
export interface LoadedConfig {
  readonly file: string;
  /** Settings with no connection (the global values, Match blocks that need one left out). */
  readonly global: SshdSettings;
  /** The settings for one connection, Match blocks applied. */
  resolve(spec: SshdMatchSpec): SshdSettings;
  /**
   * False when the configuration has no Match block: every connection gets
   * `global`, so the per-connection Match spec need not even be built.
   */
  readonly hasMatch: boolean;
}

/** The settings for one connection: `global` without a Match block, else those `spec()` selects. */
export function settingsOf(config: LoadedConfig, spec: () => SshdMatchSpec): SshdSettings {
  return config.hasMatch ? config.resolve(spec()) : config.global;
}

/**
 * How a session runs once the login is accepted. `canServe` says why an
 * account cannot be served (logged, login refused) or null.
 */
export interface SessionRunner {
  canServe(account: Account): string | null;
  run(session: SessionChannel, account: Account, settings: SshdSettings): void | Promise<void>;
}

/**
 * nacred's runner: each session as the account that logged in (runAsUser:
 * through setpriv when nacred is root), with the session keywords of its
 * Match-resolved settings. Not root, nacred serves only its own account, as
 * sshd run by a user does.
 */
export function userRunner(euid: number | undefined, log?: SshdLog): SessionRunner {
  return {
    canServe: (account) =>
      euid === undefined || euid === 0 || account.uid === euid ? null : `nacred runs as uid ${euid}, not root, and runs sessions only as that user`,
    run: (session, account, settings) =>
      runAsUser(session, {
        account: { name: account.name, uid: account.uid, gid: account.gid, home: account.home, shell: account.shell },
        acceptEnv: [...settings.acceptEnv],
        env: Object.fromEntries(settings.setEnv.map((e) => [e.name, e.value])),
        forceCommand: settings.forceCommand,
        subsystems: settings.subsystems,
        printMotd: settings.printMotd,
        userRc: settings.permitUserRC,
        permitUserEnvironment: settings.permitUserEnvironment,
        permitTty: settings.permitTTY,
        agentForwarding: settings.allowAgentForwarding && !settings.disableForwarding,
        internalSftp: { ...(log ? internalSftpLog(log) : {}), chrootDirectory: settings.chrootDirectory },
      }),
  };
}

/** The current user's runner (no setpriv, no session keywords): what npm start had before nacred. */
export function currentUserRunner(uid: number | undefined): SessionRunner {
  return {
    canServe: (account) => (uid === undefined || account.uid === uid ? null : `this server runs as uid ${uid} and runs sessions only as that user`),
    run: (session, account, settings) => {
      runAsCurrentUser(session, {
        home: account.home,
        shell: account.shell,
        acceptEnv: [...settings.acceptEnv],
        env: Object.fromEntries(settings.setEnv.map((e) => [e.name, e.value])),
      });
    },
  };
}

/**
 * Password checks against the PasswordFile keyword's file (nacred passwd
 * writes it), one PasswordFile per path, re-read when it changes. For a
 * login refused before the check (`account` null) the same scrypt work is
 * done against a name no file holds.
 */
export function passwordFileCheck(log: SshdLog): PasswordCheck {
  const files = new Map<string, PasswordFile>();
  return (account, username, password, settings) => {
    let file = files.get(settings.passwordFile);
    if (!file) {
      file = new PasswordFile(settings.passwordFile, { onWarning: (m) => log.error(`PasswordFile: ${m}`) });
      files.set(settings.passwordFile, file);
    }
    // ':' is in no user name the file may hold, so this costs a dummy hash.
    return file.verify(account ? username : ':refused', password);
  };
}

export interface BuildDeps {
  readonly log: SshdLog;
  readonly accounts: AccountSource;
  /** sshd's log lines (default), or npm start's (protocol key names). */
  readonly logStyle?: LogStyle;
  readonly runner: SessionRunner;
  /** The password check (passwordFileCheck); without it the password method is not offered. */
  readonly checkPassword?: PasswordCheck;
  /** npm start: more keys for a user (their own ~/.ssh/id_*.pub). */
  readonly extraKeys?: (account: Account) => AuthorizedKeyEntry[];
}

/** No host key could be loaded: sshd's `no hostkeys available -- exiting.` */
export class NoHostKeysError extends Error {}

/** Whether a `-cert.pub` line certifies one of `keys` (a malformed line is left to createServer to describe). */
function certifiesOneOf(line: string, keys: readonly Signer[]): boolean {
  let certified: Uint8Array;
  try {
    certified = parseCertificateLine(line).certificate.publicKey;
  } catch {
    return true;
  }
  return keys.some((k) => Buffer.from(k.publicBlob).equals(certified));
}

/**
 * The host keys of the configuration, each checked as sshd checks them
 * (owned by us, readable by no one else; an RSA key smaller than
 * RequiredRSASize is skipped). As sshd, a key that cannot be
 * loaded is logged and skipped; none at all is a NoHostKeysError. A host
 * certificate that cannot be read is an error (sshd refuses to start too).
 */
export function loadHostKeys(settings: SshdSettings, log: SshdLog): { keys: Signer[]; certificates: string[] } {
  const keys: Signer[] = [];
  for (const path of settings.hostKeys) {
    let signer: Signer;
    try {
      checkPrivateKeyFile(path, 'host key');
      signer = signerFromPrivateKeyPath(path);
    } catch (err) {
      log.error(`Unable to load host key: ${path}: ${(err as Error & { detail?: string }).detail ?? (err as Error).message}`);
      continue;
    }
    // sshd's words for it (sshkey_check_rsa_length's SSH_ERR_KEY_LENGTH).
    if (rsaKeyTooSmall(signer.publicBlob, settings.requiredRsaSize)) log.error(`Host key ${path}: Invalid key length`);
    else keys.push(signer);
  }
  if (keys.length === 0) throw new NoHostKeysError('no hostkeys available -- exiting.');
  const certificates: string[] = [];
  for (const path of settings.hostCertificates) {
    const text = readBounded(path, MAX_TRUST_FILE_BYTES, 'host certificate').toString('utf8').trim();
    // The certificate of a key skipped above (unreadable, or RSA under RequiredRSASize) has no key to go with: sshd skips it in these words.
    if (!certifiesOneOf(text, keys)) log.error(`No matching private key for certificate: ${path}`);
    else certificates.push(text);
  }
  return { keys, certificates };
}

function bannerText(settings: SshdSettings, log: SshdLog): string | undefined {
  if (settings.banner === null) return undefined;
  try {
    return readFileSync(settings.banner, 'utf8').slice(0, 64 * 1024);
  } catch (err) {
    log.error(`Banner ${settings.banner}: ${(err as Error).message}`);
    return undefined;
  }
}

/** A connection's Match spec from its addresses and (once known) the user. */
export function matchSpec(user: string | undefined, origin: ForwardRequestOrigin, account?: Account | null): SshdMatchSpec {
  const addr = origin.remoteAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  const laddr = origin.localAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return {
    ...(user !== undefined ? { user } : {}),
    ...(account ? { groups: account.groups } : {}),
    // No DNS (sshd's UseDNS no): the host is the address.
    ...(addr !== undefined ? { addr, host: addr } : {}),
    ...(laddr !== undefined ? { laddr } : {}),
    ...(origin.localPort !== undefined ? { lport: origin.localPort } : {}),
  };
}

/** sshd_config's PerSourcePenalties (seconds) as createServer takes them (milliseconds). */
function penaltiesMs(p: SshdSettings['perSourcePenalties']): Partial<PerSourcePenalties> {
  return {
    crash: p.crash * 1000,
    authfail: p.authfail * 1000,
    noauth: p.noauth * 1000,
    graceExceeded: p.graceExceeded * 1000,
    refuseConnection: p.refuseConnection * 1000,
    max: p.max * 1000,
    min: p.min * 1000,
    maxSources4: p.maxSources4,
    maxSources6: p.maxSources6,
    overflow: p.overflow,
    overflow6: p.overflow6,
  };
}

/**
 * createServer's options for one configuration. `once` logs a line at most
 * once per connection (sshd's Invalid user / not allowed lines come once,
 * not at each attempt).
 */
export function buildServerOptions(config: LoadedConfig, hostKeys: { keys: Signer[]; certificates: string[] }, deps: BuildDeps, once: OncePerConnection): ServerOptions {
  const g = config.global;
  const { log, accounts } = deps;
  const settingsFor = (user: string, origin: ForwardRequestOrigin, account?: Account | null) => settingsOf(config, () => matchSpec(user, origin, account));
  // Forwardings and sessions come after the login: its account (with the
  // groups Match Group needs) was looked up then.
  const accountOf = (user: string, origin: ForwardRequestOrigin) => {
    const a = once.account(origin.remoteAddress, origin.remotePort);
    return a && a.name === user ? a : null;
  };
  const policy = forwardingPolicy((user, origin) => settingsFor(user, origin, accountOf(user, origin)), log);
  // Nacre forwards from its own process: as root for another user, what the
  // user's own process could not do (a privileged port, Unix sockets) is refused.
  const forwarding = forwardingAsUser(policy, {
    lookup: async (name) => {
      const a = await accounts.lookup(name);
      if (!a) throw new UserAccountError(`no such user: ${name}`, name);
      return a;
    },
  });
  const banner = bannerText(g, log);
  // Passwords are offered once a password file exists (nacred passwd makes
  // it; SIGHUP to start offering): without one, nacred has none to check.
  const passwords = g.passwordAuthentication && deps.checkPassword !== undefined && existsSync(g.passwordFile);
  const methods = [...(g.pubkeyAuthentication ? ['publickey' as const] : []), ...(passwords ? ['password' as const] : [])];
  const authDeps: AuthDeps = {
    log,
    canServe: (a) => deps.runner.canServe(a),
    checkPassword: deps.checkPassword,
    extraKeys: deps.extraKeys,
    logStyle: deps.logStyle ?? 'sshd',
    once: (c, line) => once.line(c, line),
  };
  return {
    hostKeys: hostKeys.keys,
    ...(hostKeys.certificates.length > 0 ? { hostCertificates: hostKeys.certificates } : {}),
    algorithms: {
      kex: [...g.kexAlgorithms],
      hostKey: [...g.hostKeyAlgorithms],
      cipher: [...g.ciphers],
      mac: [...g.macs],
      // Compression no: only `none` is offered, as sshd does.
      ...(g.compression ? {} : { compression: ['none'] }),
    },
    auth: {
      methods,
      maxAttempts: g.maxAuthTries,
      graceTimeMs: g.loginGraceTime * 1000,
      ...(banner !== undefined ? { banner } : {}),
    },
    keepalive: g.clientAliveInterval > 0 ? { intervalMs: g.clientAliveInterval * 1000, countMax: g.clientAliveCountMax } : false,
    maxStartups: g.maxStartups,
    maxStartupsPerSource: g.perSourceMaxStartups,
    perSourceNetBlockSize: g.perSourceNetBlockSize,
    perSourcePenalties: g.perSourcePenalties.enabled ? penaltiesMs(g.perSourcePenalties) : false,
    penaltyExempt: g.perSourcePenaltyExemptList,
    maxSessions: g.maxSessions,
    authenticate: async (ctx) => {
      once.tried(ctx);
      if (log.enabled('debug1')) log.debug(1, `userauth-request for user ${printable(ctx.username)} service ssh-connection method ${ctx.method} [preauth]`);
      const account = await accounts.lookup(ctx.username);
      once.noteAccount(ctx, account);
      const settings = settingsFor(ctx.username, ctx, account);
      return judgeAttempt(ctx, settings, account, authDeps);
    },
    session: async (session) => {
      const p = session.peer;
      const account = accountOf(p.username, p) ?? (await accounts.lookup(p.username));
      if (!account) {
        session.close();
        return;
      }
      await deps.runner.run(session, account, settingsFor(p.username, p, account));
    },
    ...forwarding,
  };
}
