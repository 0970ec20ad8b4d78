// What session nacre runs once logged in, as ssh decides it: none (-N),
// a subsystem (-s, run here), or a command or shell (run by interactive.ts,
// with a PTY when RequestTTY says so); and the exit status a remote exit
// gives (the remote command's; a signal or no status at all gives 255).
import type { Readable, Writable } from 'node:stream';
import type { Client } from '../../index.js';
import { hasEscapedBytes, pathToBytes } from '../../mux-entry.js';
import type { Logger } from '../common/log.js';

export type SessionType = 'default' | 'none' | 'subsystem';
export type RequestTty = 'auto' | 'yes' | 'no' | 'force';

/**
 * The command as the exec request carries it: its bytes when it holds some
 * that are not UTF-8 (typed on the command line and read back from
 * /proc/self/cmdline, `raw-argv.ts`), as ssh sends the words it was given;
 * else the text. Directly and through a master alike.
 */
export function remoteCommand(command: string): string | Uint8Array {
  return hasEscapedBytes(command) ? pathToBytes(command) : command;
}

export interface SessionPlan {
  readonly type: SessionType;
  /** The command (or subsystem name); empty for a login shell. */
  readonly command: string;
  readonly requestTty: RequestTty;
  readonly env: Readonly<Record<string, string>>;
  /** -n / StdinNull: the remote side reads end of input at once. */
  readonly stdinNull: boolean;
}

export interface SessionIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether standard input is a terminal (ssh's tty_flag rules look at it). */
  readonly stdinIsTty: boolean;
  /** TERM and the window size for a PTY. */
  readonly term?: string;
  readonly columns?: number;
  readonly rows?: number;
}

/**
 * ssh's decision on a PTY: `force` always; `yes` when standard input is a
 * terminal (warning otherwise); `auto` for a login shell on a terminal (the
 * same warning for a login shell without one); `no` never.
 */
export function wantsTty(plan: Pick<SessionPlan, 'requestTty' | 'command' | 'type'>, stdinIsTty: boolean, log: Logger): boolean {
  if (plan.type !== 'default') return false;
  switch (plan.requestTty) {
    case 'force':
      return true;
    case 'no':
      return false;
    case 'yes':
      if (!stdinIsTty) log.info('Pseudo-terminal will not be allocated because stdin is not a terminal.');
      return stdinIsTty;
    default:
      // No command asks for a PTY (ssh's tty_flag), refused with the same notice when stdin is not a terminal.
      if (plan.command === '' && !stdinIsTty) log.info('Pseudo-terminal will not be allocated because stdin is not a terminal.');
      return plan.command === '' && stdinIsTty;
  }
}

/** RequestTTY's value as ssh reads it (`-t` is yes, `-tt` force); null for a bad one. */
export function parseRequestTty(value: string | undefined): RequestTty | null {
  switch ((value ?? 'auto').toLowerCase()) {
    case 'auto':
      return 'auto';
    case 'yes':
    case 'true':
      return 'yes';
    case 'no':
    case 'false':
      return 'no';
    case 'force':
      return 'force';
    default:
      return null;
  }
}

/** The exit status ssh gives for a remote exit: the code, or 255 for a signal or none. */
export function exitStatusOf(exit: { code: number | null; signal: string | null }): number {
  if (exit.code !== null && exit.signal === null) return exit.code & 0xff;
  return 255;
}

function finished(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** Runs a session of type `none` (-N) or `subsystem` (-s) on `client`; the exit status. */
export async function runPlainSession(client: Client, plan: SessionPlan, io: SessionIo, log: Logger): Promise<number> {
  if (plan.type === 'none') {
    // -N: nothing to run; the connection serves its forwardings until it ends.
    const error = await client.closed;
    return error ? 255 : 0;
  }
  log.debug(1, `Sending subsystem: ${plan.command}`);
  const channel = await client.subsystem(plan.command);
  if (plan.stdinNull) channel.end();
  else io.stdin.pipe(channel);
  channel.pipe(io.stdout, { end: false });
  const exit = await channel.exit;
  await finished(channel);
  if (!plan.stdinNull) io.stdin.unpipe(channel);
  return exitStatusOf(exit);
}
