// The environment a program gets when it runs for a logged-in user, made as
// OpenSSH's sshd makes it (session.c, do_setup_env): the user's identity and
// a standard PATH, not the server process's own variables; TERM and SSH_TTY
// only with a terminal; client-sent variables only when AcceptEnv names them.
import type { PtyInfo, SessionPeer } from './session-channel.js';
import { globMatch } from '../wire/glob.js';

/** Debian's sshd default (`--with-default-path`) for ordinary users. */
export const DEFAULT_USER_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/games';
/** Debian's sshd default (`--with-superuser-path`) for root. */
export const DEFAULT_SUPERUSER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Debian's sshd_config: `AcceptEnv LANG LC_*`. */
export const DEFAULT_ACCEPT_ENV: readonly string[] = ['LANG', 'LC_*'];

export interface LoginEnvironmentOptions {
  readonly username: string;
  readonly home: string;
  readonly shell: string;
  /** The uid the program runs as; 0 gets the superuser PATH. */
  readonly uid?: number;
  /** PATH before the login shell's own profile changes it; default by uid as above. */
  readonly path?: string;
  /** Variables set for every program (sshd's SetEnv); the client's accepted ones come after. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The environment sshd gives a session: USER, LOGNAME, HOME, PATH, MAIL,
 * SHELL, TZ (if the server has it), TERM with a terminal, the server's fixed
 * variables, the client's accepted ones (which, as in sshd, may override what
 * came before), then SSH_CLIENT and SSH_CONNECTION, which no one overrides.
 * SSH_TTY names the terminal device, which is known only once it is open:
 * `withTtyVariable` sets it in the program's own process.
 */
export function loginEnvironment(o: LoginEnvironmentOptions, peer: SessionPeer, accepted: Readonly<Record<string, string>>, pty: PtyInfo | null): Record<string, string> {
  const env: Record<string, string> = {
    USER: o.username,
    LOGNAME: o.username,
    HOME: o.home,
    PATH: o.path ?? (o.uid === 0 ? DEFAULT_SUPERUSER_PATH : DEFAULT_USER_PATH),
    MAIL: `/var/mail/${o.username}`,
    SHELL: o.shell,
  };
  const tz = process.env.TZ;
  if (tz) env.TZ = tz;
  if (pty) env.TERM = pty.term || 'dumb';
  Object.assign(env, o.env, accepted);
  if (peer.remoteAddress && peer.localAddress) {
    env.SSH_CLIENT = `${peer.remoteAddress} ${peer.remotePort ?? 0} ${peer.localPort ?? 0}`;
    env.SSH_CONNECTION = `${peer.remoteAddress} ${peer.remotePort ?? 0} ${peer.localAddress} ${peer.localPort ?? 0}`;
  }
  return env;
}

/**
 * sshd's AcceptEnv: a name is accepted when one pattern matches all of it;
 * `*` matches any run of characters and `?` any one, as in sshd_config.
 */
export function acceptEnvPatterns(patterns: readonly string[]): (name: string) => boolean {
  // globMatch backtracks to the last `*` only (|name|·|pattern| steps at
  // most); a RegExp of `.*`s was polynomial in the stars: a client's long
  // variable name against `*_*_*_*_X` held the event loop for minutes.
  const list = [...patterns];
  return (name) => list.some((p) => globMatch(name, p));
}

/**
 * Runs `file args` through /bin/sh, first setting SSH_TTY to the terminal on
 * its standard input (what sshd puts there); without one it stays unset.
 */
export function withTtyVariable(file: string, args: readonly string[]): { file: string; args: string[] } {
  const script = 'if t=$(tty 2>/dev/null); then SSH_TTY=$t; export SSH_TTY; fi; exec "$0" "$@"';
  return { file: '/bin/sh', args: ['-c', script, file, ...args] };
}
