// Looking up the account a session runs as: name, uid, gid, home and login
// shell, the fields of a passwd(5) entry. The lookup goes through `getent
// passwd`, so accounts from any NSS source (LDAP, sssd, systemd-homed) are
// found as sshd finds them with getpwnam(); /etc/passwd is read only where
// getent is missing. Nothing in an entry is trusted as it comes: a line that
// is not exactly seven fields, a uid or gid that is not a plain number, or an
// entry for another name than the one asked for is refused.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { NacreError, DisconnectReason } from '../errors.js';

/** One account, as a session running as it needs it. */
export interface UserAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Absolute home directory; `/` when the entry has none (sshd then starts in `/` too). */
  readonly home: string;
  /** Absolute login shell; `/bin/sh` when the entry's field is empty, as sshd does. */
  readonly shell: string;
}

/** Why an account cannot be used: it does not exist, its entry is malformed, or the lookup failed. */
export class UserAccountError extends NacreError {
  constructor(
    message: string,
    readonly user: string,
    options?: { cause?: unknown },
  ) {
    super(message, DisconnectReason.BY_APPLICATION, options);
  }
}

/** The largest id a passwd entry may hold: (uid_t)-1 is "no id" to the kernel. */
const MAX_ID = 0xffff_fffe;
/** Longer names are refused (Linux limits them to 32 bytes; NSS sources may allow more). */
const MAX_NAME = 256;
/** Longer paths are refused (PATH_MAX). */
const MAX_PATH = 4096;

/**
 * Whether `name` may be looked up: not empty, no `:`, `/`, whitespace or
 * control characters, not starting with `-` (it must never read as an
 * option) and not all digits (getent and setpriv would take it for a uid).
 */
export function validUserName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME) return false;
  if (name.startsWith('-') || /^\d+$/.test(name)) return false;
  return !/[\s:/\\\x00-\x1f\x7f]/.test(name);
}

function parseId(field: string): number | null {
  if (!/^\d{1,10}$/.test(field)) return null;
  const n = Number(field);
  return n <= MAX_ID ? n : null;
}

function usablePath(field: string): boolean {
  return field.startsWith('/') && field.length <= MAX_PATH && !/[\x00-\x1f\x7f]/.test(field);
}

/**
 * Parses one passwd(5) line (`name:password:uid:gid:gecos:home:shell`).
 * Returns null for a line that is not a usable entry: not seven fields, a
 * bad name, uid or gid. A home that is empty or not an absolute path becomes
 * `/`; an empty shell `/bin/sh`; a shell that is not an absolute path makes
 * the entry unusable.
 */
export function parsePasswdEntry(line: string): UserAccount | null {
  const fields = line.replace(/\r?\n$/, '').split(':');
  if (fields.length !== 7) return null;
  const [name, , uidField, gidField, , homeField, shellField] = fields as [string, string, string, string, string, string, string];
  if (!validUserName(name)) return null;
  const uid = parseId(uidField);
  const gid = parseId(gidField);
  if (uid === null || gid === null) return null;
  const shell = shellField === '' ? '/bin/sh' : shellField;
  if (!usablePath(shell)) return null;
  return { name, uid, gid, home: usablePath(homeField) ? homeField : '/', shell };
}

/** The entry for `name` in passwd(5) text (the first that names it, as getpwnam), or null. */
export function findPasswdEntry(text: string, name: string): UserAccount | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}:`)) continue;
    return parsePasswdEntry(line);
  }
  return null;
}

const GETENT = '/usr/bin/getent';
/** getent's exit status when the key is not in the database. */
const GETENT_NOT_FOUND = 2;

/**
 * Looks up `name` as sshd's getpwnam() does. Rejects with UserAccountError
 * when the name is not a valid one, no such account exists, or its entry is
 * unusable (see parsePasswdEntry).
 */
export async function lookupUserAccount(name: string): Promise<UserAccount> {
  if (!validUserName(name)) throw new UserAccountError(`invalid user name ${JSON.stringify(name.slice(0, 64))}`, name);
  const own = ownAccount();
  if (own?.name === name) return own;
  const text = await getentPasswd(name);
  const line = text === null ? null : text.split('\n')[0]!;
  let account: UserAccount | null;
  if (line === null) account = findPasswdEntry(readPasswdFile(name), name);
  else if (line === '') throw new UserAccountError(`no such user: ${name}`, name);
  else account = parsePasswdEntry(line);
  if (account === null) throw new UserAccountError(`the account entry of ${name} is malformed`, name);
  // getent may answer for an alias or, were the name numeric, a uid: only the name asked for will do.
  if (account.name !== name) throw new UserAccountError(`the account database answered ${JSON.stringify(account.name)} for ${name}`, name);
  return account;
}

/**
 * The server process's own account, from the password entry of its uid
 * (os.userInfo, no process to start): the common case of a server run by
 * the user it serves, or of root logging in to a root server.
 */
function ownAccount(): UserAccount | null {
  try {
    const u = userInfo();
    if (u.uid < 0 || u.gid < 0 || !validUserName(u.username)) return null;
    const shell = u.shell && usablePath(u.shell) ? u.shell : '/bin/sh';
    return { name: u.username, uid: u.uid, gid: u.gid, home: usablePath(u.homedir) ? u.homedir : '/', shell };
  } catch {
    return null;
  }
}

/** getent's output for `name` ('' when not found), or null when there is no getent to run. */
function getentPasswd(name: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    // A fixed environment: nothing of the server's own reaches the lookup.
    execFile(GETENT, ['passwd', name], { env: { PATH: '/usr/bin:/bin' }, timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (!err) return resolve(stdout);
      // execFile's error has the errno name as `code` when getent could not
      // start, and getent's exit status there when it ran and failed.
      const code: unknown = (err as { code?: unknown }).code;
      if (code === 'ENOENT') return resolve(null);
      if (code === GETENT_NOT_FOUND) return resolve('');
      reject(new UserAccountError(`cannot look up user ${name}: ${err.message}`, name, { cause: err }));
    });
  });
}

function readPasswdFile(name: string): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch (err) {
    throw new UserAccountError(`cannot look up user ${name}: /etc/passwd: ${(err as Error).message}`, name, { cause: err });
  }
}
