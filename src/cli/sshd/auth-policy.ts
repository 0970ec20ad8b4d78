// Who may log in, decided as sshd decides it from sshd_config, for one
// attempt at a time: the account must exist (and be one this process can
// serve), pass DenyUsers, AllowUsers, DenyGroups, AllowGroups and
// PermitRootLogin, use a method the (Match-resolved) configuration enables
// and AuthenticationMethods allows next; a public key is then judged by the
// user's AuthorizedKeysFile lines, TrustedUserCAKeys (with
// AuthorizedPrincipalsFile) and RevokedKeys, each file read at the attempt
// as sshd reads it, under StrictModes. What the login may then do
// (ForceCommand, PermitTTY, AllowAgentForwarding) travels with it as
// Restrictions, which the server's session layer enforces.
import { statSync } from 'node:fs';
import { isAbsolute, join, dirname } from 'node:path';
import {
  authorizePublicKey,
  blobKeyType,
  describePublicKey,
  expandAuthorizedPath,
  readBounded,
  isMissingFile,
  MAX_TRUST_FILE_BYTES,
  loadRevokedKeys,
  sshdUserAccess,
  UNRESTRICTED,
  type AuthContext,
  type AuthResult,
  type AuthServerMethod,
  type AuthorizedKeyEntry,
  type Restrictions,
  type SshdSettings,
} from '../../index.js';
import type { Account } from './accounts.js';
import { TrustFileCache } from './trust-files.js';
import { peer, printable, type SshdLog } from './log.js';

/**
 * Whether `password` is right for the account (nacred's is passwordFileCheck
 * in server-options.ts: the scrypt file named by `settings.passwordFile`;
 * tests pass their own). It is also
 * called with `account` null for logins refused before the check (unknown
 * or not allowed users, root), whose result is ignored: it must then do the
 * same work (a dummy hash), so no refusal answers faster than another.
 */
export type PasswordCheck = (account: Account | null, username: string, password: string, settings: SshdSettings) => Promise<boolean>;

/** An AuthorizedKeysFile-style path for the account: %-tokens expanded, a relative path under the home directory. */
export function expandUserPath(pattern: string, account: Account): string {
  const expanded = expandAuthorizedPath(pattern, { user: account.name, home: account.home, uid: account.uid });
  return isAbsolute(expanded) ? expanded : join(account.home, expanded);
}

/**
 * sshd's StrictModes for a file a user's login depends on: the file and every
 * directory above it (to the home directory, or to / for a file outside it)
 * must belong to the user or root and not be writable by group or others.
 * Returns the reason it may not be used, or null.
 */
export function strictModesProblem(path: string, account: Account): string | null {
  const checks = [path];
  const inHome = path.startsWith(account.home.endsWith('/') ? account.home : account.home + '/');
  for (let d = dirname(path); ; d = dirname(d)) {
    checks.push(d);
    if ((inHome && d === account.home) || dirname(d) === d) break;
  }
  for (const p of checks) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return null; // absent: nothing is read from it anyway
    }
    if (st.uid !== account.uid && st.uid !== 0) return `bad ownership or modes for ${p === path ? 'file' : 'directory'} ${p}`;
    if ((st.mode & 0o022) !== 0) return `bad ownership or modes for ${p === path ? 'file' : 'directory'} ${p}`;
  }
  return null;
}

/** Reads one trust file for a user; null when absent; reasons for skipping go to the log. */
function readTrustFile(path: string, account: Account, settings: SshdSettings, log: SshdLog, what: string): string | null {
  let text: string;
  try {
    text = readBounded(path, MAX_TRUST_FILE_BYTES, what).toString('utf8');
  } catch (err) {
    if (!isMissingFile(err)) log.error(`Could not open ${what} '${path}': ${(err as Error & { detail?: string }).detail ?? (err as Error).message}`);
    return null;
  }
  return strictModesAllow(path, account, settings, log) ? text : null;
}

/** StrictModes for one file a login depends on: false (and a log line) when it may not be used. */
function strictModesAllow(path: string, account: Account, settings: SshdSettings, log: SshdLog): boolean {
  if (!settings.strictModes) return true;
  const problem = strictModesProblem(path, account);
  if (problem) log.error(`Authentication refused: ${problem}`);
  return problem === null;
}

/**
 * Parsed AuthorizedKeysFile and TrustedUserCAKeys files, shared by every
 * connection of the process (a file is parsed again when it changed; see
 * trust-files.ts). StrictModes is still checked at every attempt.
 */
const trustFiles = new TrustFileCache();

/** The entries of every AuthorizedKeysFile of the user, in order. */
export function authorizedKeysFor(account: Account, settings: SshdSettings, log: SshdLog, files: TrustFileCache = trustFiles): AuthorizedKeyEntry[] {
  const entries: AuthorizedKeyEntry[] = [];
  const debug = log.enabled('debug1');
  for (const pattern of settings.authorizedKeysFiles) {
    const path = expandUserPath(pattern, account);
    if (debug) log.debug(1, `trying public key file ${path}`);
    let parsed;
    try {
      parsed = files.read(path, 'authorized keys file');
    } catch (err) {
      if (!isMissingFile(err)) log.error(`Could not open authorized keys file '${path}': ${(err as Error & { detail?: string }).detail ?? (err as Error).message}`);
      continue;
    }
    if (parsed === null || !strictModesAllow(path, account, settings, log)) continue;
    if (debug) for (const p of parsed.problems) log.debug(1, `${p.source ?? path}:${p.line}: skipped: ${p.reason}`);
    for (const e of parsed.entries) entries.push(e);
  }
  return entries;
}

function principalsFor(account: Account, settings: SshdSettings, log: SshdLog): string[] | null {
  if (settings.authorizedPrincipalsFile === null) return null;
  const path = expandUserPath(settings.authorizedPrincipalsFile, account);
  const text = readTrustFile(path, account, settings, log, 'authorized principals file');
  if (text === null) return [];
  // One principal a line; a line with options before it keeps its last word (the name).
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/).pop()!);
}

function trustedCaBlobs(settings: SshdSettings, log: SshdLog): Uint8Array[] {
  if (settings.trustedUserCAKeys === null) return [];
  try {
    const what = 'TrustedUserCAKeys file';
    const parsed = trustFiles.read(settings.trustedUserCAKeys, what);
    if (parsed === null) {
      // Absent: readBounded throws its usual error, for the same log line as before.
      readBounded(settings.trustedUserCAKeys, MAX_TRUST_FILE_BYTES, what);
      return [];
    }
    return parsed.entries.map((e) => e.blob);
  } catch (err) {
    log.error(`TrustedUserCAKeys ${settings.trustedUserCAKeys}: ${(err as Error).message}`);
    return [];
  }
}

/**
 * sshd's allowed_user() (sshdUserAccess from the sshd_config module): the
 * reason the account may not log in from `address`, as sshd logs it, or null.
 */
export function userNotAllowed(account: Account, address: string | undefined, settings: SshdSettings): string | null {
  const verdict = sshdUserAccess(settings, { user: account.name, groups: account.groups, addr: address ?? 'UNKNOWN' });
  return verdict.allowed ? null : verdict.reason;
}

const RSA_TYPES: ReadonlySet<string> = new Set(['ssh-rsa', 'ssh-rsa-cert-v01@openssh.com']);

/**
 * Whether an RSA key (plain, or the key a certificate carries) is smaller
 * than RequiredRSASize; other key types are never too small.
 */
export function rsaKeyTooSmall(blob: Uint8Array, requiredRsaSize: number): boolean {
  let d;
  try {
    d = describePublicKey(blob);
  } catch {
    // A policy check fails closed: an RSA key whose size cannot be read is
    // taken as too small; any other unreadable blob is refused by the key checks.
    try {
      return RSA_TYPES.has(blobKeyType(blob));
    } catch {
      return false;
    }
  }
  return RSA_TYPES.has(d.type) && d.bits < requiredRsaSize;
}

/** Methods this configuration lets a client try at all, in sshd's order. */
export function enabledMethods(settings: SshdSettings, passwords: boolean): AuthServerMethod[] {
  const m: AuthServerMethod[] = [];
  if (settings.pubkeyAuthentication) m.push('publickey');
  if (settings.passwordAuthentication && passwords) m.push('password');
  return m;
}

/**
 * AuthenticationMethods: given the methods already passed (in order) and the
 * one just accepted, whether the login is complete, needs more (the methods
 * that may come next), or this method is not allowed at this point.
 */
export function nextMethods(lists: readonly (readonly string[])[], passed: readonly string[], method: string): 'done' | 'refused' | AuthServerMethod[] {
  if (lists.length === 0) return 'done';
  const name = (m: string) => m.split(':', 1)[0]!;
  const after = [...passed, method];
  const fits = lists.filter((l) => l.length >= after.length && after.every((m, i) => name(l[i]!) === m));
  if (fits.length === 0) return 'refused';
  if (fits.some((l) => l.length === after.length)) return 'done';
  return [...new Set(fits.map((l) => name(l[after.length]!) as AuthServerMethod))];
}

/**
 * Restrictions with what this configuration takes away besides the key's
 * options: ForceCommand, PermitTTY, AllowAgentForwarding, PermitUserRC, and
 * PubkeyAuthOptions (touch-required overrides a key's no-touch-required;
 * verify-required adds user verification), which the core applies to a
 * security key's signature flags.
 */
export function withConfigRestrictions(r: Restrictions, settings: SshdSettings): Restrictions {
  const sk = settings.pubkeyAuthOptions;
  // The usual configuration takes nothing away: the key's restrictions (frozen already) stand as they are.
  if (settings.forceCommand === null && settings.permitTTY && settings.allowAgentForwarding && settings.permitUserRC && !sk.touchRequired && !sk.verifyRequired && Object.isFrozen(r)) return r;
  return Object.freeze({
    ...r,
    // ForceCommand wins over command= (sshd runs the administrator's command).
    command: settings.forceCommand ?? r.command,
    pty: r.pty && settings.permitTTY,
    agentForwarding: r.agentForwarding && settings.allowAgentForwarding,
    userRc: r.userRc && settings.permitUserRC,
    noTouchRequired: r.noTouchRequired && !sk.touchRequired,
    verifyRequired: r.verifyRequired || sk.verifyRequired,
  });
}

export interface AuthDeps {
  readonly log: SshdLog;
  /** Whether a session can run as this account (see SessionRunner). */
  canServe(account: Account): string | null;
  readonly checkPassword?: PasswordCheck | undefined;
  /** Extra keys for a user (npm start: the user's own ~/.ssh/id_*.pub). */
  readonly extraKeys?: ((account: Account) => AuthorizedKeyEntry[]) | undefined;
  readonly logStyle: LogStyle;
  /** Logs a line once per connection (Invalid user, not allowed ...). */
  once(ctx: AuthContext, line: string): void;
}

/** Judges one attempt with the connection's resolved settings. */
export async function judgeAttempt(ctx: AuthContext, settings: SshdSettings, account: Account | null, deps: AuthDeps): Promise<AuthResult> {
  const { log } = deps;
  const from = peer(ctx.remoteAddress, ctx.remotePort);
  const passwordOffered = ctx.method === 'password' && deps.checkPassword !== undefined && settings.passwordAuthentication;
  /**
   * A password refused before it is checked (unknown user, user not
   * allowed, root) still costs the check (against no account), so every
   * refusal takes the same work, as sshd checks a fake password; the core
   * then holds every failure reply for the same minimum delay.
   */
  const refusePassword = async (who: string): Promise<false> => {
    if (passwordOffered) {
      await deps.checkPassword!(null, ctx.username, ctx.password ?? '', settings);
      log.info(`Failed password for ${who} from ${from} ssh2`);
    }
    return false;
  };
  if (account === null) {
    deps.once(ctx, `Invalid user ${printable(ctx.username)} from ${from}`);
    if (ctx.method === 'publickey' && ctx.publicKey && log.enabled('verbose')) log.verbose(`Failed publickey for invalid user ${printable(ctx.username)} from ${from} ssh2: ${keyName(ctx.publicKey.keyType, deps.logStyle)} ${ctx.publicKey.fingerprint}`);
    return refusePassword(`invalid user ${printable(ctx.username)}`);
  }
  const unservable = deps.canServe(account);
  if (unservable) {
    deps.once(ctx, `User ${printable(account.name)} from ${ctx.remoteAddress ?? 'UNKNOWN'} not allowed because ${unservable}`);
    return refusePassword(printable(account.name));
  }
  // RefuseConnection in a Match User / Group block: known only now (a Match on addresses alone refused it at accept).
  if (settings.refuseConnection) {
    deps.once(ctx, `Refusing connection from ${from} for user ${printable(account.name)} (RefuseConnection)`);
    return refusePassword(printable(account.name));
  }
  const notAllowed = userNotAllowed(account, ctx.remoteAddress, settings);
  if (notAllowed) {
    deps.once(ctx, notAllowed);
    return refusePassword(printable(account.name));
  }
  if (ctx.method === 'none') return false;
  const enabled = enabledMethods(settings, deps.checkPassword !== undefined);
  if (!enabled.includes(ctx.method as AuthServerMethod)) return false;
  const next = nextMethods(settings.authenticationMethods, ctx.passed, ctx.method);
  if (next === 'refused') return refusePassword(printable(account.name));
  const root = account.uid === 0;
  if (root && (settings.permitRootLogin === 'no' || (settings.permitRootLogin !== 'yes' && ctx.method !== 'publickey'))) {
    if (ctx.method !== 'publickey' || ctx.signed) deps.once(ctx, `ROOT LOGIN REFUSED FROM ${ctx.remoteAddress ?? 'UNKNOWN'} port ${ctx.remotePort ?? 0}`);
    return refusePassword(printable(account.name));
  }

  let restrictions: Restrictions = UNRESTRICTED;
  if (ctx.method === 'publickey') {
    const key = ctx.publicKey;
    if (!key) return false;
    if (!settings.pubkeyAcceptedAlgorithms.includes(key.algorithm)) {
      log.verbose(`publickey: key type ${key.algorithm} not in PubkeyAcceptedAlgorithms`);
      return false;
    }
    // RequiredRSASize, before any file is read (sshd's words; a certificate is judged by the key it carries, not its CA's).
    if (rsaKeyTooSmall(key.blob, settings.requiredRsaSize)) {
      log.info(`refusing ${sshdKeyName(key.keyType)} key: Invalid key length`);
      return false;
    }
    let revokedKeys;
    if (settings.revokedKeys !== null) {
      try {
        revokedKeys = loadRevokedKeys(settings.revokedKeys);
      } catch (err) {
        // As sshd: a RevokedKeys file that cannot be read refuses every key.
        log.error(`Error checking authentication key ${key.keyType} ${key.fingerprint} in revoked keys file ${settings.revokedKeys}: ${(err as Error).message}`);
        return false;
      }
    }
    const verdict = authorizePublicKey(ctx, {
      authorizedKeys: [...authorizedKeysFor(account, settings, log), ...(deps.extraKeys?.(account) ?? [])],
      trustedUserCaKeys: trustedCaBlobs(settings, log),
      authorizedPrincipals: () => principalsFor(account, settings, log),
      permitUserEnvironment: settings.permitUserEnvironment === true ? true : settings.permitUserEnvironment === false ? false : [...settings.permitUserEnvironment],
      caSignatureAlgorithms: settings.caSignatureAlgorithms,
      ...(revokedKeys ? { revokedKeys } : {}),
    });
    if (!verdict.allowed) {
      if (!/not in authorized_keys/.test(verdict.reason)) log.info(`key refused: ${verdict.reason}`);
      // As sshd: at VERBOSE (a client offering several keys is normal), queries included.
      if (log.enabled('verbose')) log.verbose(`Failed publickey for ${printable(account.name)} from ${from} ssh2: ${keyName(key.keyType, deps.logStyle)} ${key.fingerprint}`);
      return false;
    }
    restrictions = verdict.restrictions;
    // forced-commands-only: root with a key whose line forces a command (the configuration's ForceCommand does not count, as in sshd).
    if (root && settings.permitRootLogin === 'forced-commands-only' && restrictions.command === null) {
      deps.once(ctx, `ROOT LOGIN REFUSED FROM ${ctx.remoteAddress ?? 'UNKNOWN'} port ${ctx.remotePort ?? 0}`);
      return false;
    }
  } else if (ctx.method === 'password') {
    const ok = await deps.checkPassword!(account, ctx.username, ctx.password ?? '', settings);
    if (!ok) {
      log.info(`Failed password for ${printable(account.name)} from ${from} ssh2`);
      return false;
    }
  } else {
    return false;
  }
  const r = withConfigRestrictions(restrictions, settings);
  if (next !== 'done') {
    log.info(`Partial ${ctx.method} for ${printable(account.name)} from ${from} ssh2`);
    return { partial: next, restrictions: r };
  }
  return { restrictions: r };
}

/**
 * sshd's log lines, or npm start's as they always were: key types by their
 * protocol names (`ssh-ed25519`) and close lines without the user name tried.
 */
export type LogStyle = 'sshd' | 'npm-start';

export function keyName(keyType: string, style: LogStyle): string {
  return style === 'sshd' ? sshdKeyName(keyType) : keyType;
}

/** sshd's short key type names in log lines (`ED25519`, `RSA`, `ECDSA`, `ED25519-SK`, `-CERT` for certificates). */
export function sshdKeyName(keyType: string): string {
  const cert = keyType.includes('-cert-v01@openssh.com');
  const base = keyType.replace('-cert-v01@openssh.com', '');
  const names: Record<string, string> = {
    'ssh-ed25519': 'ED25519',
    'ssh-rsa': 'RSA',
    'ecdsa-sha2-nistp256': 'ECDSA',
    'ecdsa-sha2-nistp384': 'ECDSA',
    'ecdsa-sha2-nistp521': 'ECDSA',
    'sk-ssh-ed25519@openssh.com': 'ED25519-SK',
    'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
    'ssh-dss': 'DSA',
  };
  const name = names[base] ?? base;
  return cert ? `${name}-CERT` : name;
}
