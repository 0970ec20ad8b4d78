// Local accounts as nacred needs them to decide a login (does the user
// exist, its uid, home directory and groups for AllowGroups / Match Group
// and for AuthorizedKeysFile's %h): asked of the system through `getent`
// and `id`, so that every NSS source (files, LDAP, sssd) answers as it does
// for sshd's getpwnam. Answers are cached for a few seconds so a client's
// several attempts cost one lookup; a name that could not be a user name is
// never passed to a program.
import { execFile } from 'node:child_process';

export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
  /** Group names, the primary group first. */
  readonly groups: readonly string[];
}

/** POSIX-portable user names plus what Debian's adduser allows; anything else is no account. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/;
const CACHE_MS = 5_000;
const MAX_CACHED = 256;

function run(program: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: 5_000, maxBuffer: 64 * 1024, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } }, (err, stdout) => {
      resolve(err ? null : stdout);
    });
  });
}

/** A passwd line (`name:x:uid:gid:gecos:home:shell`), checked field by field; null when malformed. */
export function parsePasswdLine(line: string, name: string): Omit<Account, 'groups'> | null {
  const f = line.replace(/\n$/, '').split(':');
  if (f.length !== 7 || f[0] !== name) return null;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!/^\d{1,10}$/.test(f[2]!) || !/^\d{1,10}$/.test(f[3]!) || uid > 0xfffffffe || gid > 0xfffffffe) return null;
  const home = f[5]!;
  if (!home.startsWith('/')) return null;
  return { name, uid, gid, home, shell: f[6] || '/bin/sh' };
}

/** Where accounts come from: the system's (Accounts), or npm start's single user. */
export interface AccountSource {
  lookup(name: string): Promise<Account | null>;
}

export class Accounts implements AccountSource {
  private readonly cache = new Map<string, { at: number; account: Promise<Account | null> }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The account named `name`, or null when there is none (or the name cannot be one). */
  lookup(name: string): Promise<Account | null> {
    if (!USER_NAME.test(name)) return Promise.resolve(null);
    const t = this.now();
    const hit = this.cache.get(name);
    if (hit && t - hit.at < CACHE_MS) return hit.account;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    const account = this.fetch(name);
    this.cache.set(name, { at: t, account });
    return account;
  }

  private async fetch(name: string): Promise<Account | null> {
    const line = await run('getent', ['passwd', name]);
    if (line === null) return null;
    const entry = parsePasswdLine(line.split('\n')[0] ?? '', name);
    if (!entry) return null;
    const groups = await run('id', ['-Gn', '--', name]);
    const names = (groups ?? '').trim().split(/\s+/).filter((g) => g !== '');
    return { ...entry, groups: names };
  }
}
