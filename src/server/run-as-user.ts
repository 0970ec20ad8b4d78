// `runAsUser()`: a session's shells, commands and subsystems run as the
// account the client logged in to, as sshd runs them: the account's uid,
// gid and groups (through setpriv when the server is root), home directory
// and login shell, sshd's environment, ForceCommand and `command=` with
// SSH_ORIGINAL_COMMAND, Subsystem commands, the motd, ~/.ssh/rc and
// ~/.ssh/environment when enabled, PermitTTY, and agent forwarding through a
// socket of the session's own.
import { stat } from 'node:fs/promises';
import type { PtyInfo, ServerChannel, SessionChannel, SessionPeer } from './session-channel.js';
import { commandProgram, startPiped, startPty, type RunOptions, type Running } from './exec-handler.js';
import { DEFAULT_ACCEPT_ENV, acceptEnvPatterns, loginEnvironment, type LoginEnvironmentOptions } from './login-env.js';
import type { PermitUserEnvironment } from './restrictions.js';
import { lookupUserAccount, type UserAccount } from './user-account.js';
import { hasEscapedBytes } from '../wire/path-bytes.js';
import { SessionDirectory, sessionIdentity, userLauncher } from './privileges.js';
import { hushLogin, motdText, nologinText, userEnvironmentFile } from './user-files.js';
import { AgentListener } from './agent-listener.js';
import { internalSftpArguments } from './sftp/args.js';
import { startInternalSftp, type InternalSftpOptions } from './sftp/internal.js';

export interface RunAsUserOptions extends RunOptions {
  /** The account to run as; default the name the client logged in with. */
  readonly user?: string;
  /** The account itself, already looked up (see lookupUserAccount); default looked up by `user`. */
  readonly account?: UserAccount;
  /**
   * sshd's ForceCommand: run instead of any shell, command or subsystem the
   * client asks for (the asked-for command or subsystem name in
   * SSH_ORIGINAL_COMMAND). It takes precedence over a key's `command=`.
   */
  readonly forceCommand?: string | null;
  /**
   * sshd's Subsystem: name to command line, run through the user's shell as
   * sshd does. Unlisted subsystems are refused. `internal-sftp [flags]`
   * (also as ForceCommand) is Nacre's own SFTP server, with sftp-server's
   * flags: in this process when it runs as the user, else in a process of
   * the user's (see `internalSftp`).
   */
  readonly subsystems?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** internal-sftp's log (its -l lines), ChrootDirectory and, in this process, its file system. */
  readonly internalSftp?: InternalSftpOptions;
  /** sshd's PrintMotd: /etc/motd (`motdFile`) before a login shell on a terminal, unless ~/.hushlogin exists. Default false. */
  readonly printMotd?: boolean;
  /** The message of the day's file; default /etc/motd. */
  readonly motdFile?: string;
  /**
   * sshd's PermitUserRC: run ~/.ssh/rc (with /bin/sh, as the user, in the
   * home directory) before each shell or command, unless the login's
   * restrictions say `no-user-rc`; as sshd, not for subsystems nor under
   * ForceCommand. Default false: a library runs no user script unasked
   * (sshd's default is yes; nacred passes its sshd_config value).
   */
  readonly userRc?: boolean;
  /** sshd's PermitUserEnvironment for ~/.ssh/environment: true, a pattern list, or false (default). */
  readonly permitUserEnvironment?: PermitUserEnvironment;
  /** sshd's PermitTTY; default true. */
  readonly permitTty?: boolean;
  /**
   * sshd's AllowAgentForwarding: answer auth-agent-req@openssh.com with a
   * socket for the session (SSH_AUTH_SOCK), relayed to the client's agent.
   * Default false.
   */
  readonly agentForwarding?: boolean;
  /** Where the session's private directory is made; default /tmp. */
  readonly socketDirectory?: string;
  /**
   * sshd's nologin check (without PAM): while this file exists, programs of
   * users other than root do not run; its text goes to stderr and the exit
   * status is 254. Default /etc/nologin; null turns the check off.
   */
  readonly nologinFile?: string | null;
}

type Request = { readonly type: 'shell' } | { readonly type: 'exec'; readonly command: string } | { readonly type: 'subsystem'; readonly name: string };

/** What runs for a request: the command (null: a login shell) and, when forced, what the client asked for. */
interface Plan {
  readonly command: string | null;
  /** undefined: not forced; null: forced in place of a shell; else the asked-for command or subsystem. */
  readonly original: string | null | undefined;
  readonly label: string;
  /** internal-sftp's arguments, when that is what runs. */
  readonly internal: string[] | null;
}

/**
 * Installs handlers on `session` that run its programs as a user (see
 * RunAsUserOptions). When the server process is that user, programs start
 * directly, as with runAsCurrentUser; when it is root, through setpriv;
 * otherwise this rejects with a PrivilegeError and the session's requests
 * are refused. Returning the promise from the server's `session` callback
 * makes the session's requests wait for it:
 *
 *   createServer({ ..., session: (s) => runAsUser(s, { agentForwarding: true }) })
 */
export async function runAsUser(session: SessionChannel, options: RunAsUserOptions = {}): Promise<void> {
  const account = options.account ?? (await lookupUserAccount(options.user ?? session.username));
  const identity = sessionIdentity(account);
  const shell = options.shell ?? account.shell;
  const home = options.home ?? account.home;
  const acceptEnv = options.acceptEnv ?? DEFAULT_ACCEPT_ENV;
  const accept = typeof acceptEnv === 'function' ? acceptEnv : acceptEnvPatterns(acceptEnv);
  let running: Running | null = null;
  let starting = false;
  let closed = false;
  let directory: Promise<SessionDirectory> | null = null;
  /** The directory once made, to remove it at once when the session closes. */
  let made: SessionDirectory | null = null;
  let agent: AgentListener | null = null;
  const sessionDirectory = (): Promise<SessionDirectory> =>
    (directory ??= SessionDirectory.create(account, identity, options.socketDirectory).then((d) => {
      made = d;
      // made after the session closed: nothing will use it
      if (closed) removeQuietly(d);
      return d;
    }));

  const plan = (req: Request): Plan | null => {
    // A key's command= has already turned the request into exec of that command.
    let original: string | null | undefined = session.peer.restrictions?.command != null ? session.originalCommand : undefined;
    let command: string | null;
    if (options.forceCommand != null) {
      if (original === undefined) original = req.type === 'shell' ? null : req.type === 'exec' ? req.command : req.name;
      // SSH_ORIGINAL_COMMAND is UTF-8 text in Node: a command with other bytes is refused, not changed.
      if (original !== null && hasEscapedBytes(original)) return null;
      command = options.forceCommand;
    } else if (req.type === 'subsystem') {
      const line = subsystemCommand(options.subsystems, req.name);
      if (line === undefined) return null;
      command = line;
    } else {
      command = req.type === 'exec' ? req.command : null;
    }
    const internal = command === null ? null : internalSftpArguments(command);
    // Node cannot chroot a program: under ChrootDirectory only internal-sftp runs (confined by its file system).
    if (internal === null && options.internalSftp?.chrootDirectory != null) {
      throw new Error(`ChrootDirectory is set for ${account.name}: nacred serves only internal-sftp under it, not ${req.type === 'subsystem' ? `subsystem ${req.name}` : req.type}`);
    }
    const label = req.type === 'subsystem' ? `subsystem ${req.name}` : (command ?? 'shell');
    return { command, original, label, internal };
  };

  const environment = async (p: Plan): Promise<Record<string, string>> => {
    const keyEnv = session.peer.restrictions?.environment ?? {};
    // session.env holds the client's accepted variables with the key's environment= over them
    const clientEnv = Object.fromEntries(Object.entries(session.env).filter(([name]) => !Object.hasOwn(keyEnv, name)));
    return sessionEnvironment({
      login: { username: account.name, home, shell, uid: account.uid, path: options.path },
      peer: session.peer,
      pty: session.pty,
      client: clientEnv,
      authSocket: agent?.path ?? null,
      key: keyEnv,
      file: await userEnvironmentFile(home, account.uid, options.permitUserEnvironment ?? false),
      setEnv: options.env ?? {},
      originalCommand: p.original,
    });
  };

  const start = async (req: Request, channel: ServerChannel): Promise<boolean> => {
    if (running || starting) return false;
    const p = plan(req);
    if (!p) return false;
    starting = true;
    try {
      const nologin = account.uid === 0 ? null : await nologinText(options.nologinFile === undefined ? '/etc/nologin' : options.nologinFile);
      if (nologin !== null) {
        channel.stderr.write(nologin);
        channel.exit(254);
        return true;
      }
      if (p.internal !== null) {
        running = await startInternalSftp(p.internal, channel, session, account, identity, options.internalSftp);
        return true;
      }
      const env = await environment(p);
      const motd = p.command === null && session.pty && options.printMotd && !(await hushLogin(home)) ? await motdText(options.motdFile ?? '/etc/motd') : null;
      const cwd = identity === 'same-user' ? await directoryOr(home, '/') : '/';
      const envFile = identity === 'setpriv' ? await (await sessionDirectory()).writeEnvironmentFile(env) : '';
      if (closed) return false;
      // as sshd: never for a subsystem or under ForceCommand
      const userRc = options.userRc === true && session.peer.restrictions?.userRc !== false && req.type !== 'subsystem' && options.forceCommand == null;
      const launch = userLauncher(account, identity, envFile, userRc, home, cwd);
      const { file, args } = p.command === null ? { file: shell, args: ['-l'] } : commandProgram(shell, p.command);
      running = await (session.pty ? startPty(file, args, channel, session.pty, cwd, env, p.label, launch) : startPiped(file, args, channel, cwd, env, p.label, launch));
      // Once the shell started (a refused start shows nothing), and before its
      // output: that comes from I/O callbacks, after this continuation.
      if (motd) channel.write(motd);
      return true;
    } finally {
      starting = false;
    }
  };

  session.onPty = () => options.permitTty !== false;
  session.onEnv = (name) => accept(name);
  session.onAgentForwarding = async () => {
    const open = session.peer.openChannel;
    if (!options.agentForwarding || !open) return false;
    if (agent) return true;
    const listener = await AgentListener.listen(await sessionDirectory(), open);
    if (closed) {
      listener.close();
      return false;
    }
    agent = listener;
    return true;
  };
  session.onExec = (command, channel) => start({ type: 'exec', command }, channel);
  session.onShell = (channel) => start({ type: 'shell' }, channel);
  session.onSubsystem = (name, channel) => start({ type: 'subsystem', name }, channel);
  session.onSignal = (name) => running?.signal(name) ?? false;
  session.onWindowChange = (size) => {
    running?.resize(size.cols, size.rows);
    return true;
  };
  session.onClose = () => {
    closed = true;
    running?.hangup();
    agent?.close();
    if (made) removeQuietly(made);
  };
}

function removeQuietly(d: SessionDirectory): void {
  try {
    d.remove();
  } catch {
    // gone already, or its file system is read-only now: nothing more to do
  }
}

/** The command line configured for subsystem `name`, if any. */
function subsystemCommand(subsystems: RunAsUserOptions['subsystems'], name: string): string | undefined {
  if (!subsystems) return undefined;
  if (subsystems instanceof Map) return subsystems.get(name);
  const record = subsystems as Readonly<Record<string, string>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** What a session's environment is made of (see sessionEnvironment). */
export interface SessionEnvironmentParts {
  readonly login: LoginEnvironmentOptions;
  readonly peer: SessionPeer;
  readonly pty: PtyInfo | null;
  /** The client's env requests that AcceptEnv let in. */
  readonly client: Readonly<Record<string, string>>;
  /** SSH_AUTH_SOCK, with agent forwarding. */
  readonly authSocket: string | null;
  /** authorized_keys `environment=` (already filtered by PermitUserEnvironment). */
  readonly key: Readonly<Record<string, string>>;
  /** ~/.ssh/environment (already filtered). */
  readonly file: Readonly<Record<string, string>>;
  /** sshd's SetEnv. */
  readonly setEnv: Readonly<Record<string, string>>;
  /** undefined: nothing forced; null: forced in place of a shell (SSH_ORIGINAL_COMMAND unset); else its value. */
  readonly originalCommand: string | null | undefined;
}

/**
 * A session's environment in sshd's order (session.c, do_setup_env), each
 * step overriding the ones before: the client's accepted variables; USER,
 * LOGNAME, HOME, MAIL, PATH, SHELL, TZ, TERM (so a client cannot change
 * them); SSH_AUTH_SOCK; the key's `environment=`; ~/.ssh/environment; SetEnv;
 * then SSH_CLIENT, SSH_CONNECTION and SSH_ORIGINAL_COMMAND (SSH_TTY is set by
 * the program's wrapper, last).
 */
export function sessionEnvironment(parts: SessionEnvironmentParts): Record<string, string> {
  const { SSH_CLIENT, SSH_CONNECTION, ...standard } = loginEnvironment({ ...parts.login, env: {} }, parts.peer, {}, parts.pty);
  const env: Record<string, string> = { ...parts.client, ...standard };
  if (parts.authSocket !== null) env.SSH_AUTH_SOCK = parts.authSocket;
  Object.assign(env, parts.key, parts.file, parts.setEnv);
  if (SSH_CLIENT !== undefined) env.SSH_CLIENT = SSH_CLIENT;
  if (SSH_CONNECTION !== undefined) env.SSH_CONNECTION = SSH_CONNECTION;
  // forced: what the client asked for, never a value someone sent or set
  if (parts.originalCommand !== undefined) delete env.SSH_ORIGINAL_COMMAND;
  if (typeof parts.originalCommand === 'string') env.SSH_ORIGINAL_COMMAND = parts.originalCommand;
  return env;
}

/** `path` when it is a directory, else `fallback` (sshd starts in / when the home directory is missing). */
async function directoryOr(path: string, fallback: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? path : fallback;
  } catch {
    return fallback;
  }
}
