// `runAsUser()`: a session's shells, commands and subsystems run as the
// account the client logged in to, as sshd runs them: the account's uid,
// gid and groups (through setpriv when the server is root), home directory
// and login shell, sshd's environment, ForceCommand and `command=` with
// SSH_ORIGINAL_COMMAND, Subsystem commands, the motd, ~/.ssh/rc and
// ~/.ssh/environment when enabled, PermitTTY, and agent forwarding through a
// socket of the session's own.
import { stat } from 'node:fs/promises';
import type { ServerChannel, SessionChannel } from './session-channel.js';
import { startPiped, startPty, type RunOptions, type Running } from './exec-handler.js';
import { DEFAULT_ACCEPT_ENV, acceptEnvPatterns, loginEnvironment } from './login-env.js';
import type { PermitUserEnvironment } from './restrictions.js';
import { lookupUserAccount, type UserAccount } from './user-account.js';
import { SessionDirectory, sessionIdentity, userLauncher } from './privileges.js';
import { hushLogin, motdText, userEnvironmentFile } from './user-files.js';
import { AgentListener } from './agent-listener.js';

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
   * sshd does. Unlisted subsystems are refused; `internal-sftp` is refused
   * too (with an error reported to the server) until Nacre has SFTP.
   */
  readonly subsystems?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
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
}

type Request = { readonly type: 'shell' } | { readonly type: 'exec'; readonly command: string } | { readonly type: 'subsystem'; readonly name: string };

/** What runs for a request: the command (null: a login shell) and, when forced, what the client asked for. */
interface Plan {
  readonly command: string | null;
  /** undefined: not forced; null: forced in place of a shell; else the asked-for command or subsystem. */
  readonly original: string | null | undefined;
  readonly label: string;
}

const INTERNAL_SFTP = /^internal-sftp(?:\s|$)/;

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
      command = options.forceCommand;
    } else if (req.type === 'subsystem') {
      const line = subsystemCommand(options.subsystems, req.name);
      if (line === undefined) return null;
      command = line;
    } else {
      command = req.type === 'exec' ? req.command : null;
    }
    if (command !== null && INTERNAL_SFTP.test(command)) throw new Error('internal-sftp is not supported yet: configure an external sftp-server as the subsystem');
    const label = req.type === 'subsystem' ? `subsystem ${req.name}` : (command ?? 'shell');
    return { command, original, label };
  };

  const environment = async (p: Plan): Promise<Record<string, string>> => {
    const fromFile = await userEnvironmentFile(home, account.uid, options.permitUserEnvironment ?? false);
    const env = loginEnvironment(
      { username: account.name, home, shell, uid: account.uid, path: options.path, env: options.env },
      session.peer,
      { ...session.env, ...fromFile },
      session.pty,
    );
    if (p.original !== undefined) {
      delete env.SSH_ORIGINAL_COMMAND;
      if (p.original !== null) env.SSH_ORIGINAL_COMMAND = p.original;
    }
    if (agent) env.SSH_AUTH_SOCK = agent.path;
    return env;
  };

  const start = async (req: Request, channel: ServerChannel): Promise<boolean> => {
    if (running || starting) return false;
    const p = plan(req);
    if (!p) return false;
    starting = true;
    try {
      const env = await environment(p);
      const motd = p.command === null && session.pty && options.printMotd && !(await hushLogin(home)) ? await motdText(options.motdFile ?? '/etc/motd') : null;
      const cwd = identity === 'same-user' ? await directoryOr(home, '/') : '/';
      const envFile = identity === 'setpriv' ? await (await sessionDirectory()).writeEnvironmentFile(env) : '';
      if (closed) return false;
      // as sshd: never for a subsystem or under ForceCommand
      const userRc = options.userRc === true && session.peer.restrictions?.userRc !== false && req.type !== 'subsystem' && options.forceCommand == null;
      const launch = userLauncher(account, identity, envFile, userRc, home, cwd);
      const args = p.command === null ? ['-l'] : ['-c', p.command];
      running = await (session.pty ? startPty(shell, args, channel, session.pty, cwd, env, p.label, launch) : startPiped(shell, args, channel, cwd, env, p.label, launch));
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

/** `path` when it is a directory, else `fallback` (sshd starts in / when the home directory is missing). */
async function directoryOr(path: string, fallback: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? path : fallback;
  } catch {
    return fallback;
  }
}
