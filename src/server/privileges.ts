// Running a session's programs as the account it logged in to. A server
// running as root starts each program through `setpriv` (util-linux) with
// the account's uid, gid and supplementary groups (initgroups); Node cannot
// change the uid of a child it forks for a terminal, and node-pty's own
// uid/gid options would leave root's supplementary groups in place.
//
// setpriv itself starts as root, so nothing the client controls may reach
// it: it gets a fixed environment (a variable like LD_PRELOAD or LOCPATH
// accepted from the client would otherwise run code or parse files as root)
// and its working directory is `/`. The session's environment goes in a file
// only the user can read, in a directory of the session's own; a small
// /bin/sh wrapper, already running as the user, reads it, changes to the
// home directory (falling back to `/` with sshd's message), sets SSH_TTY,
// runs ~/.ssh/rc when enabled and execs the program. Node opens every
// descriptor close-on-exec, but descriptors this process inherited without
// that flag would reach the program too (neither Node's spawn nor node-pty
// closes them): the wrapper closes them first, so the program gets only its
// stdin, stdout and stderr (or the terminal).
import { chmodSync, chownSync, constants as fsConstants, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { NacreError, DisconnectReason } from '../errors.js';
import { directLaunch, type Launch, type Launcher } from './exec-handler.js';
import { shellQuote } from './terminal-settings.js';
import type { UserAccount } from './user-account.js';

/** A session cannot run as the account asked for (the server is not root, or has no setpriv). */
export class PrivilegeError extends NacreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, DisconnectReason.BY_APPLICATION, options);
  }
}

/** util-linux's setpriv, on every Debian (util-linux is essential). */
export const SETPRIV = '/usr/bin/setpriv';
/** The environment setpriv runs with: nothing of the client's or the server's. */
const SETPRIV_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });

/** How a session's programs start: as the server's own user, or through setpriv as another. */
export type SessionIdentity = 'same-user' | 'setpriv';

/**
 * How programs for `account` are started by this process: `same-user` when
 * it already runs as that uid, `setpriv` when it runs as root. Anything else
 * is a PrivilegeError: a server that is not root never runs a session as
 * someone else (and never as itself in their place).
 */
export function sessionIdentity(account: UserAccount, euid: number | undefined = process.geteuid?.()): SessionIdentity {
  if (euid === undefined) throw new PrivilegeError('running sessions as a user needs a POSIX system');
  if (account.uid === euid) return 'same-user';
  if (euid !== 0) throw new PrivilegeError(`cannot run a session as ${account.name} (uid ${account.uid}): the server runs as uid ${euid}, not root`);
  if (!existsSync(SETPRIV)) throw new PrivilegeError(`cannot run a session as ${account.name}: ${SETPRIV} (util-linux) is missing`);
  return 'setpriv';
}

/** Names a POSIX shell can export; the wrapper passes only these on (see writeEnvironmentFile). */
export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The wrapper's settings, after the environment file ($0). */
export interface WrapperFlags {
  /** Run ~/.ssh/rc (when it is a file) before the program, as sshd's PermitUserRC. */
  readonly userRc: boolean;
  /** Set SSH_TTY to the terminal on stdin. */
  readonly terminal: boolean;
  /** The account's home directory (the program starts there; ~/.ssh/rc is in it), whatever HOME says. */
  readonly home: string;
}

/**
 * The /bin/sh program that starts a session's program as the user: `$0` is
 * the environment file ('' for none), `$1` 1 to run ~/.ssh/rc, `$2` 1 to set
 * SSH_TTY, `$3` the home directory, then the program and its arguments.
 */
export const WRAPPER_SCRIPT = [
  'if [ -n "$0" ]; then . "$0" || exit 254; fi',
  'nacre_rc=$1 nacre_tty=$2 nacre_home=$3; shift 3',
  'cd "$nacre_home" 2>/dev/null || { printf "Could not chdir to home directory %s: No such file or directory\\n" "$nacre_home" >&2; cd /; }',
  'if [ "$nacre_tty" = 1 ] && nacre_t=$(tty 2>/dev/null); then SSH_TTY=$nacre_t; export SSH_TTY; fi',
  'if [ "$nacre_rc" = 1 ] && [ -f "$nacre_home/.ssh/rc" ]; then /bin/sh "$nacre_home/.ssh/rc" </dev/null; fi',
  'unset nacre_rc nacre_tty nacre_t nacre_home',
  'exec "$@"',
].join('\n');

/** The wrapper's arguments to its shell for `file args`, closing `inherited` descriptors first. */
export function wrapperArguments(envFile: string, flags: WrapperFlags, file: string, args: readonly string[], inherited: readonly number[] = []): string[] {
  const close = inherited.length > 0 ? `exec ${inherited.map((fd) => `${fd}>&-`).join(' ')}\n` : '';
  return ['-c', close + WRAPPER_SCRIPT, envFile, flags.userRc ? '1' : '0', flags.terminal ? '1' : '0', flags.home, file, ...args];
}

/** O_CLOEXEC as /proc/PID/fdinfo shows it (octal flags). */
const FDINFO_CLOEXEC = 0o2000000;
let inheritedCache: readonly number[] | undefined;

/**
 * The descriptors above 2 this process holds without close-on-exec: those
 * it inherited (Node opens its own close-on-exec). Read once from /proc;
 * empty without /proc.
 */
export function inheritedDescriptors(): readonly number[] {
  if (inheritedCache) return inheritedCache;
  const found: number[] = [];
  try {
    for (const name of readdirSync('/proc/self/fd')) {
      const fd = Number(name);
      if (!Number.isInteger(fd) || fd <= 2) continue;
      try {
        const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
        if (flags && (parseInt(flags[1]!, 8) & FDINFO_CLOEXEC) === 0) found.push(fd);
      } catch {
        // closed meanwhile (the directory's own descriptor)
      }
    }
  } catch {
    // no /proc: nothing known to close
  }
  inheritedCache = Object.freeze(found.sort((x, y) => x - y));
  return inheritedCache;
}

/** The shell the wrapper runs in: /bin/sh, unless descriptors above 9 must be closed, which dash cannot name. */
function wrapperShell(inherited: readonly number[]): string {
  return inherited.some((fd) => fd > 9) && existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/**
 * The environment as /bin/sh source (`export NAME='value'` lines). Names a
 * shell cannot export are left out (sshd would pass them; they are rare).
 */
export function environmentScript(env: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [name, value] of Object.entries(env)) {
    if (!SHELL_NAME.test(name) || value.includes('\0')) continue;
    out += `export ${name}=${shellQuote(value)}\n`;
  }
  return out;
}

/** The terminal devices runAsUser hands to a user: devpts slaves only. */
const PTS_DEVICE = /^\/dev\/pts\/\d+$/;

/**
 * A session's private directory, under `/tmp` like sshd's ssh-XXXX: made
 * with mkdtemp by the server, owned by the server's user and never writable
 * by anyone else, so nothing the server later creates or removes in it can
 * be redirected by a user's symlink. For a setpriv session it is opened to
 * 0711 (enter, not list) once its files are in place; the files in it (the
 * environment, the agent socket) belong to the session's user, mode 0400
 * and 0600, so no other user can read or connect to them.
 */
export class SessionDirectory {
  private count = 0;
  private removed = false;

  private constructor(
    readonly path: string,
    private readonly account: UserAccount,
    private readonly identity: SessionIdentity,
  ) {}

  static async create(account: UserAccount, identity: SessionIdentity, base = '/tmp'): Promise<SessionDirectory> {
    const path = await mkdtemp(join(base, 'nacre-'));
    // mkdtemp makes it 0700; the user may enter (not list) once files are there.
    if (identity === 'setpriv') await chmod(path, 0o711);
    return new SessionDirectory(path, account, identity);
  }

  /** A new name in the directory. */
  name(prefix: string): string {
    return join(this.path, `${prefix}.${++this.count}`);
  }

  /** Gives `path` (a file or socket just made in here) to the user with `mode`. */
  async handOver(path: string, mode: number): Promise<void> {
    await chmod(path, mode);
    if (this.identity === 'setpriv') await chown(path, this.account.uid, this.account.gid);
  }

  /** Writes the environment for one program (see environmentScript); returns the file. */
  async writeEnvironmentFile(env: Readonly<Record<string, string>>): Promise<string> {
    const path = this.name('env');
    // O_EXCL: a new file, never one already there; owner-only from the start.
    const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(environmentScript(env));
    } finally {
      await handle.close();
    }
    await this.handOver(path, 0o400);
    return path;
  }

  /**
   * Removes the directory and everything in it, at once: a few small files,
   * and a server that exits right after its sessions closed leaves none.
   */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * The Launcher for a session's program: through setpriv and the wrapper for
 * another user (environment from `envFile`), through the wrapper for the
 * server's own user when ~/.ssh/rc may run, otherwise as runAsCurrentUser
 * does. On a terminal, the setpriv launcher gives the terminal device to
 * the user (mode 0620, as sshd). Nothing is given back at the end, as sshd's
 * pty_release does: on Linux the device node goes when the server closes
 * the master side, even while the program still holds the terminal.
 */
export function userLauncher(account: UserAccount, identity: SessionIdentity, envFile: string, userRc: boolean, home: string, cwd: string): Launcher {
  if (identity === 'same-user') {
    return (file, args, env, _cwd, terminal) => {
      if (!userRc) return { ...directLaunch(file, args, env, cwd, terminal), newSession: true };
      return { file: '/bin/sh', args: wrapperArguments('', { userRc, terminal, home }, file, args), env, cwd: '/', newSession: true };
    };
  }
  const ids = [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--'];
  const inherited = inheritedDescriptors();
  const shell = wrapperShell(inherited);
  // Without bash, those above 9 stay open (dash has no syntax for them).
  const closed = shell === '/bin/sh' ? inherited.filter((fd) => fd <= 9) : inherited;
  return (file, args, _env, _cwd, terminal): Launch => ({
    file: SETPRIV,
    args: [...ids, shell, ...wrapperArguments(envFile, { userRc, terminal, home }, file, args, closed)],
    env: { ...SETPRIV_ENV },
    cwd: '/',
    // sshd's setsid(): the program cannot reach the server's controlling terminal
    newSession: true,
    ...(terminal
      ? {
          terminalOpened: (device: string) => setTerminalOwner(device, account.uid, ttyGroup() ?? account.gid),
        }
      : {}),
  });
}

let ttyGid: number | null | undefined;
/** The gid of group `tty` (from /etc/group, once), or null without one. */
function ttyGroup(): number | null {
  if (ttyGid !== undefined) return ttyGid;
  ttyGid = null;
  try {
    const m = /^tty:[^:\n]*:(\d{1,10}):/m.exec(readFileSync('/etc/group', 'utf8'));
    if (m) ttyGid = Number(m[1]);
  } catch {
    // no /etc/group: the user's own group, as sshd without a tty group
  }
  return ttyGid;
}

/**
 * Makes a devpts terminal `uid`'s, group `gid` (tty), mode 0620, as sshd
 * does: devpts may have made it root's group, which must not write to a
 * user's terminal.
 */
function setTerminalOwner(device: string, uid: number, gid: number): void {
  if (!PTS_DEVICE.test(device)) return;
  try {
    chownSync(device, uid, gid);
    chmodSync(device, 0o620);
  } catch {
    // The terminal is gone already: nothing to give.
  }
}
