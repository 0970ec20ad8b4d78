// A loaded sshd_config turned into createServer's options. The parts that
// are per server (host keys, algorithms, MaxStartups, MaxAuthTries,
// LoginGraceTime, Banner, ClientAlive*, MaxSessions) take the global
// values; the parts sshd decides per connection (everything a Match block
// may change for a user or address: authentication, forwarding, sessions)
// are resolved per request through `settingsFor`, so a Match block applies
// where sshd applies it.
import { readFileSync } from 'node:fs';
import {
  runAsCurrentUser,
  signerFromPrivateKeyPath,
  checkPrivateKeyFile,
  readBounded,
  MAX_TRUST_FILE_BYTES,
  type AuthorizedKeyEntry,
  type ServerOptions,
  type SessionChannel,
  type Signer,
  type SshdMatchSpec,
  type SshdSettings,
  type ForwardRequestOrigin,
} from '../../index.js';
import type { Account, AccountSource } from './accounts.js';
import { judgeAttempt, type LogStyle, type PasswordCheck } from './auth-policy.js';
import { forwardingPolicy } from './forward-policy.js';
import { printable, type SshdLog } from './log.js';
import type { OncePerConnection } from './events-log.js';

/** A parsed configuration: the global settings and Match resolution for one connection. */
export interface LoadedConfig {
  readonly file: string;
  /** Settings with no connection (the global values, Match blocks that need one left out). */
  readonly global: SshdSettings;
  /** The settings for one connection, Match blocks applied. */
  resolve(spec: SshdMatchSpec): SshdSettings;
}

/**
 * How a session runs once the login is accepted. nacred's own: as the
 * current user (runAsCurrentUser), which serves only logins of the account
 * nacred runs as. `usersess` adds running a session as another user when
 * nacred runs as root (setpriv), ForceCommand/Subsystem/motd/agent socket;
 * the lead wires it here. `canServe` says why an account cannot be served
 * (logged, login refused) or null.
 */
export interface SessionRunner {
  canServe(account: Account): string | null;
  run(session: SessionChannel, account: Account, settings: SshdSettings): void | Promise<void>;
}

export function currentUserRunner(uid: number | undefined): SessionRunner {
  return {
    canServe: (account) =>
      uid === undefined || account.uid === uid ? null : `nacred runs as uid ${uid} and runs sessions only as that user (sessions as other users are not wired yet)`,
    run: (session, account, settings) => {
      runAsCurrentUser(session, {
        home: account.home,
        shell: account.shell,
        acceptEnv: [...settings.acceptEnv],
        env: Object.fromEntries(settings.setEnv.map((e) => [e.name, e.value])),
      });
      // Subsystems (sshd_config Subsystem) are `usersess`'s: until wired, onSubsystem stays unset and they are refused.
    },
  };
}

export interface BuildDeps {
  readonly log: SshdLog;
  readonly accounts: AccountSource;
  /** sshd's log lines (default), or npm start's (protocol key names). */
  readonly logStyle?: LogStyle;
  readonly runner: SessionRunner;
  /** `admit`'s password file check; without it the password method is not offered. */
  readonly checkPassword?: PasswordCheck;
  /** npm start: more keys for a user (their own ~/.ssh/id_*.pub). */
  readonly extraKeys?: (account: Account) => AuthorizedKeyEntry[];
}

/** No host key could be loaded: sshd's `no hostkeys available -- exiting.` */
export class NoHostKeysError extends Error {}

/**
 * The host keys of the configuration, each checked as sshd checks them
 * (owned by us, readable by no one else). As sshd, a key that cannot be
 * loaded is logged and skipped; none at all is a NoHostKeysError. A host
 * certificate that cannot be read is an error (sshd refuses to start too).
 */
export function loadHostKeys(settings: SshdSettings, log: SshdLog): { keys: Signer[]; certificates: string[] } {
  const keys: Signer[] = [];
  for (const path of settings.hostKeys) {
    try {
      checkPrivateKeyFile(path, 'host key');
      keys.push(signerFromPrivateKeyPath(path));
    } catch (err) {
      log.error(`Unable to load host key: ${path}: ${(err as Error & { detail?: string }).detail ?? (err as Error).message}`);
    }
  }
  if (keys.length === 0) throw new NoHostKeysError('no hostkeys available -- exiting.');
  const certificates = settings.hostCertificates.map((path) => readBounded(path, MAX_TRUST_FILE_BYTES, 'host certificate').toString('utf8').trim());
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

/**
 * createServer's options for one configuration. `once` logs a line at most
 * once per connection (sshd's Invalid user / not allowed lines come once,
 * not at each attempt).
 */
export function buildServerOptions(config: LoadedConfig, hostKeys: { keys: Signer[]; certificates: string[] }, deps: BuildDeps, once: OncePerConnection): ServerOptions {
  const g = config.global;
  const { log, accounts } = deps;
  const settingsFor = (user: string, origin: ForwardRequestOrigin, account?: Account | null) => config.resolve(matchSpec(user, origin, account));
  // Forwardings and sessions come after the login: its account (with the
  // groups Match Group needs) was looked up then.
  const accountOf = (user: string, origin: ForwardRequestOrigin) => {
    const a = once.account(origin.remoteAddress, origin.remotePort);
    return a && a.name === user ? a : null;
  };
  const forwarding = forwardingPolicy((user, origin) => settingsFor(user, origin, accountOf(user, origin)), log);
  const banner = bannerText(g, log);
  const methods = [...(g.pubkeyAuthentication ? ['publickey' as const] : []), ...(g.passwordAuthentication && deps.checkPassword ? ['password' as const] : [])];
  return {
    hostKeys: hostKeys.keys,
    ...(hostKeys.certificates.length > 0 ? { hostCertificates: hostKeys.certificates } : {}),
    algorithms: {
      kex: [...g.kexAlgorithms],
      hostKey: [...g.hostKeyAlgorithms],
      cipher: [...g.ciphers],
      mac: [...g.macs],
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
    maxSessions: g.maxSessions,
    authenticate: async (ctx) => {
      once.tried(ctx);
      log.debug(1, `userauth-request for user ${printable(ctx.username)} service ssh-connection method ${ctx.method} [preauth]`);
      const account = await accounts.lookup(ctx.username);
      once.noteAccount(ctx, account);
      const settings = settingsFor(ctx.username, ctx, account);
      return judgeAttempt(ctx, settings, account, {
        log,
        canServe: (a) => deps.runner.canServe(a),
        checkPassword: deps.checkPassword,
        extraKeys: deps.extraKeys,
        logStyle: deps.logStyle ?? 'sshd',
        once: (c, line) => once.line(c, line),
      });
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
