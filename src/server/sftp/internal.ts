// `internal-sftp` for runAsUser (sshd's Subsystem sftp internal-sftp, or a
// ForceCommand of it): the SFTP server of this library, with sftp-server's
// flags. When the server process is the session's user (the server serves
// its own account, or root logged in as root), it runs here, on the
// channel, with no process in between. When the server is root and the user
// is not, file operations must be the user's, and Node cannot change the uid
// of one request: the same server code then runs in a process of the user's
// (process-main.ts, started through setpriv like any program of the
// session), speaking SFTP on its stdin and stdout; its log lines come back
// on stderr into the server's log.
import { spawn } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FileSystem } from '../../sftp/filesystem.js';
import type { SftpLogLevel } from '../../sftp/server-session.js';
import type { Running } from '../exec-handler.js';
import { userLauncher, type SessionIdentity } from '../privileges.js';
import type { ServerChannel, SessionChannel } from '../session-channel.js';
import type { UserAccount } from '../user-account.js';
import { expandStartDirectory, parseSftpServerArgs, sftpLogEnabled, type SftpServerArgs } from './args.js';
import { defaultFileSystem } from './default-fs.js';
import { serveSftp } from './serve.js';

/** The process a setpriv session's internal-sftp runs in. */
export const SFTP_PROCESS_ENTRY = fileURLToPath(new URL('./process-main.js', import.meta.url));

export interface InternalSftpOptions {
  /** sftp-server's log lines, already filtered by its -l level, for the server's log. */
  readonly log?: (level: SftpLogLevel, message: string) => void;
  /**
   * The file system an in-process session serves (default the Node file
   * system as the server's user, starting in `startDirectory`). Not used
   * when the session runs in a process of the user's. Not with
   * `chrootDirectory`: the library cannot make another file system keep to
   * the root, so the pair is refused (ChrootError) rather than served unconfined.
   */
  readonly fileSystem?: (startDirectory: string, account: UserAccount) => FileSystem;
  /**
   * sshd's ChrootDirectory (tokens %h, %u, %U, %% expanded here): the session
   * sees this directory as `/`, and starts in the home directory inside it
   * when that exists (else `/`), or in -d's directory, taken inside it. As
   * sshd, every component of its path must be a directory owned by root and
   * writable by no one else.
   */
  readonly chrootDirectory?: string | null;
}

/** A ChrootDirectory that cannot be used (bad ownership or modes, missing). */
export class ChrootError extends Error {}

/** ChrootDirectory's tokens: %h home, %u user name, %U uid, %% a percent sign. */
export function expandChrootDirectory(dir: string, account: UserAccount): string {
  return dir.replace(/%(.)/g, (m, c: string) => {
    if (c === 'h') return account.home;
    if (c === 'u') return account.name;
    if (c === 'U') return String(account.uid);
    if (c === '%') return '%';
    throw new ChrootError(`ChrootDirectory: unknown token ${m} in ${dir}`);
  });
}

/**
 * sshd's safely_chroot checks: an absolute path whose components (the
 * resolved path's) are all directories owned by root, not writable by group
 * or others. Returns the resolved path.
 */
export async function checkChrootDirectory(path: string): Promise<string> {
  if (!path.startsWith('/')) throw new ChrootError(`chroot path does not begin at root: ${path}`);
  let resolved: string;
  try {
    resolved = await realpath(path);
  } catch (e) {
    throw new ChrootError(`Unable to chdir to chroot path "${path}": ${(e as Error).message}`);
  }
  const parts = resolved.split('/').filter((p) => p !== '');
  for (let i = 0; i <= parts.length; i++) {
    const component = '/' + parts.slice(0, i).join('/');
    const st = await stat(component);
    if (!st.isDirectory()) throw new ChrootError(`chroot path ${component} is not a directory`);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) throw new ChrootError(`bad ownership or modes for chroot directory ${i === parts.length ? '' : 'component '}"${component}"`);
  }
  return resolved;
}

/**
 * Starts internal-sftp with `args` (its command line after the name) on
 * `channel` for `account`. Bad arguments reject (the request is refused and
 * the error reported, as a configuration error).
 */
export async function startInternalSftp(
  args: readonly string[],
  channel: ServerChannel,
  session: SessionChannel,
  account: UserAccount,
  identity: SessionIdentity,
  options: InternalSftpOptions = {},
): Promise<Running> {
  const parsed = parseSftpServerArgs(args);
  if (parsed.query !== null || parsed.help) throw new Error('internal-sftp: -Q and -h are not for a session');
  if (options.chrootDirectory != null && options.fileSystem !== undefined) {
    throw new ChrootError('internal-sftp: chrootDirectory and a fileSystem factory cannot be combined (the factory would serve outside the root); give one of them');
  }
  const root = options.chrootDirectory == null ? null : await checkChrootDirectory(expandChrootDirectory(options.chrootDirectory, account));
  const start = parsed.startDirectory !== null ? expandStartDirectory(parsed.startDirectory, account) : root === null ? account.home : await homeInside(root, account.home);
  const log = options.log;
  if (identity === 'same-user') return inProcess(parsed, start, root, channel, session, account, options);
  return inUserProcess(args, root, session.remoteAddress, channel, account, log);
}

/** The home directory as seen inside `root` when it is a directory there, else `/` (as sshd after chroot). */
async function homeInside(root: string, home: string): Promise<string> {
  try {
    const fs = defaultFileSystem('/', { root });
    if (((await fs.stat(home)).mode & 0o170000) === 0o040000) return home;
  } catch {
    // not there: `/`
  }
  return '/';
}

function inProcess(parsed: SftpServerArgs, start: string, root: string | null, channel: ServerChannel, session: SessionChannel, account: UserAccount, options: InternalSftpOptions): Running {
  const fileSystem = options.fileSystem ? options.fileSystem(start, account) : defaultFileSystem(start, { root, umask: parsed.umask });
  const log = options.log;
  const serving = serveSftp(channel, {
    fileSystem,
    readOnly: parsed.readOnly,
    umask: parsed.umask,
    allowRequests: parsed.allowRequests,
    denyRequests: parsed.denyRequests,
    username: account.name,
    remoteAddress: session.remoteAddress,
    ...(log ? { log: (level: SftpLogLevel, message: string) => sftpLogEnabled(parsed.logLevel, level) && log(level, message), logs: (level: SftpLogLevel) => sftpLogEnabled(parsed.logLevel, level) } : {}),
  });
  return { signal: () => false, resize: () => undefined, hangup: () => serving.close() };
}

function inUserProcess(args: readonly string[], root: string | null, client: string | undefined, channel: ServerChannel, account: UserAccount, log: InternalSftpOptions['log']): Running {
  // process-main.ts takes the root and the client's address before sftp-server's own flags
  const entry = [SFTP_PROCESS_ENTRY, ...(root === null ? [] : [`--chroot=${root}`]), ...(client === undefined ? [] : [`--client=${client}`]), '-e', ...args];
  const launch = userLauncher(account, 'setpriv', '', false, account.home, '/')(process.execPath, entry, {}, '/', false);
  const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], detached: launch.newSession === true });
  const noop = (): void => undefined;
  child.on('error', (e) => {
    log?.('error', `internal-sftp for ${account.name}: ${e.message}`);
    channel.exit(255);
  });
  const { stdin, stdout, stderr } = child;
  for (const pipe of [stdin, stdout, stderr]) pipe?.on('error', noop);
  if (!stdin || !stdout || !stderr) return { signal: () => false, resize: noop, hangup: noop };
  stdout.pipe(channel, { end: false });
  channel.pipe(stdin);
  // Each stderr line is one log line of the child's (it filters by -l itself).
  let partial = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!.slice(-4096);
    for (const line of lines) if (line !== '') log?.('info', line);
  });
  child.once('close', (code) => channel.exit(code ?? 255));
  return {
    signal: () => false,
    resize: noop,
    hangup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
      stdin.destroy();
      stdout.destroy();
      stderr.destroy();
    },
  };
}
