// A built-in process runner: shells and commands run as the user the server
// process runs as, the way sshd runs them for a logged-in user. With a PTY
// (the client sent pty-req) the program gets a real pseudo-terminal from
// @lydell/node-pty, or `script` from util-linux when that cannot load.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { constants as osConstants, userInfo } from 'node:os';
import type { ServerChannel, SessionChannel, PtyInfo } from './session-channel.js';
import { shellQuote, sttyArguments, withTerminalSettings } from './terminal-settings.js';
import { PtyInput } from './pty-input.js';
import { drainBeforeClose } from './pty-drain.js';
import { DEFAULT_ACCEPT_ENV, acceptEnvPatterns, loginEnvironment, withTtyVariable } from './login-env.js';
import { outputPipe, preparePipes } from '../io/node/fifo-pipes.js';
import { forwardInto } from './forward-socket.js';
import { hasEscapedBytes, pathToBytes } from '../wire/path-bytes.js';

export interface RunOptions {
  /** Login shell; default from the password database (os.userInfo().shell), else /bin/sh. */
  readonly shell?: string;
  /** HOME and working directory; default the user's home. */
  readonly home?: string;
  /** PATH a program starts with (a login shell's profile may change it); default sshd's on Debian, by uid. */
  readonly path?: string;
  /** Variables every program gets besides the standard ones (sshd's SetEnv). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Which client-sent variables (env requests) to accept, as sshd's AcceptEnv:
   * patterns with `*` and `?`, or a function. Default `['LANG', 'LC_*']`
   * (Debian's sshd_config); `[]` accepts none.
   */
  readonly acceptEnv?: readonly string[] | ((name: string) => boolean);
}

/** The part of node-pty's IPty this file uses. */
interface Pty {
  readonly pid: number;
  /** The master side's file descriptor (node-pty's UnixTerminal has it). */
  readonly fd?: number;
  onData(cb: (d: string | Buffer) => void): { dispose(): void };
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  kill(signal?: string): void;
  /** Closes the master side (node-pty's UnixTerminal). */
  destroy?(): void;
  pause(): void;
  resume(): void;
  /** node-pty's Terminal passes this to the stream over the master side. */
  on?(event: 'error', cb: (err: Error) => void): void;
  /** The terminal's slave device, e.g. /dev/pts/3 (node-pty's UnixTerminal). */
  readonly ptsName?: string;
}
interface PtyModule {
  spawn(file: string, args: string[], options: { name: string; cols: number; rows: number; cwd: string; env: Record<string, string>; encoding: string | null }): Pty;
}

let ptyModule: PtyModule | null | undefined;
/** node-pty if it loads here (prebuilt binary for this platform), else null. */
export function loadPty(): PtyModule | null {
  if (ptyModule !== undefined) return ptyModule;
  try {
    ptyModule = createRequire(import.meta.url)('@lydell/node-pty') as PtyModule;
  } catch (e) {
    // Out of descriptors the module cannot even be read: that says nothing
    // about this platform, so the next terminal tries again.
    if (isResourceError(e)) return null;
    ptyModule = null;
  }
  return ptyModule;
}

const noop = (): void => undefined;

function isResourceError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name.replace(/^SIG/, '')]));

function defaultShell(): string {
  try {
    const s = userInfo().shell;
    if (s) return s;
  } catch {
    // no passwd entry (containers): fall through
  }
  return '/bin/sh';
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'user';
  }
}

function userHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return process.env.HOME ?? '/';
  }
}

/**
 * Installs handlers on `session` that run shells and commands as the current
 * user: pty-req, env (LANG, LC_* unless `acceptEnv` says otherwise), shell,
 * exec, signal and window-change. Programs get the environment sshd would
 * give them (see login-env.ts), not this process's.
 */
export function runAsCurrentUser(session: SessionChannel, options: RunOptions = {}): void {
  const shell = options.shell ?? defaultShell();
  const home = options.home ?? userHome();
  const acceptEnv = options.acceptEnv ?? DEFAULT_ACCEPT_ENV;
  const accept = typeof acceptEnv === 'function' ? acceptEnv : acceptEnvPatterns(acceptEnv);
  let running: Running | null = null;
  // Pipes for programs' stdout are made ahead (see fifo-pipes.ts).
  void preparePipes();

  const environment = (pty: PtyInfo | null): Record<string, string> =>
    loginEnvironment({ username: userName(), home, shell, uid: process.getuid?.(), path: options.path, env: options.env }, session.peer, session.env, pty);

  // A program that cannot start fails its request (the client sees
  // CHANNEL_FAILURE) by throwing here; the session reports the error.
  const start = async ({ file, args }: Program, channel: ServerChannel, label: string): Promise<boolean> => {
    if (running) return false;
    const env = environment(session.pty);
    running = await (session.pty ? startPty(file, args, channel, session.pty, home, env, label) : startPiped(file, args, channel, home, env, label));
    return true;
  };

  session.onPty = () => true;
  session.onEnv = (name) => accept(name);
  session.onExec = (command, channel) => start(commandProgram(shell, command), channel, command);
  // `-l` makes it a login shell, as sshd does by naming it "-sh".
  session.onShell = (channel) => start({ file: shell, args: ['-l'] }, channel, 'shell');
  session.onSignal = (name) => running?.signal(name) ?? false;
  session.onWindowChange = (size) => {
    running?.resize(size.cols, size.rows);
    return true;
  };
  session.onClose = () => running?.hangup();
}

/** A program to start and its arguments. */
export interface Program {
  readonly file: string;
  readonly args: string[];
}

/**
 * What runs `command` as `shell -c command` does. Node hands a child its
 * arguments as UTF-8 strings only, so a command holding bytes that are not
 * UTF-8 (escaped as path-bytes.ts escapes them) goes through /bin/sh, which
 * turns their spelling in ASCII (printf %b octal escapes) back into those
 * bytes and hands them to the shell as its `-c` argument.
 */
export function commandProgram(shell: string, command: string): Program {
  if (command.includes('\0')) throw new RangeError('a command cannot hold a NUL byte');
  if (!hasEscapedBytes(command)) return { file: shell, args: ['-c', command] };
  let spelled = '';
  // Inside single quotes only `'` is special to sh, and in %b's argument only `\`.
  for (const c of pathToBytes(command)) spelled += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\0${c.toString(8).padStart(3, '0')}`;
  // `$(...)` drops trailing newlines: the `_` after them keeps them, and goes.
  return { file: '/bin/sh', args: ['-c', `nacre_command="$(printf '%b_' '${spelled}')"; exec "$0" -c "\${nacre_command%_}"`, shell] };
}

export interface Running {
  signal(name: string): boolean;
  resize(cols: number, rows: number): void;
  /** The client closed the channel. */
  hangup(): void;
}

function validSignal(name: string): NodeJS.Signals | null {
  const full = `SIG${name.replace(/^SIG/, '')}`;
  return full in osConstants.signals ? (full as NodeJS.Signals) : null;
}

function finish(channel: ServerChannel, code: number | null, signal: number | string | null): void {
  if (signal !== null && signal !== 0) {
    const name = typeof signal === 'number' ? (SIGNAL_NAMES.get(signal) ?? String(signal)) : signal.replace(/^SIG/, '');
    channel.exitSignal(name);
  } else {
    channel.exit(code ?? 0);
  }
}

/**
 * Spawn failures that mean the program itself could not be executed. sshd
 * learns of these in its forked child, after accepting the request, and
 * reports them on stderr with an exit status; we do the same. Any other
 * failure (EMFILE, ENFILE, EAGAIN: no pipes or no process) is what makes
 * sshd's pipe() or fork() fail, and there it refuses the request.
 */
const EXEC_FAILURES = new Set(['ENOENT', 'EACCES']);

/** A program that never started: nothing to signal, resize or hang up. */
const NOT_RUNNING: Running = { signal: () => false, resize: () => undefined, hangup: () => undefined };

/** What is actually spawned for a program (runAsUser wraps it in setpriv). */
export interface Launch {
  readonly file: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Without a terminal: start the program in a session of its own (setsid, as sshd), away from the server's controlling terminal. */
  readonly newSession?: boolean;
  /** Called with the terminal's device right after the program started on it. */
  readonly terminalOpened?: (device: string) => void;
}
/** Turns a program (on a terminal or not) into what is spawned for it. */
export type Launcher = (file: string, args: string[], env: Record<string, string>, cwd: string, terminal: boolean) => Launch;

/** As the server's own user: the program itself; on a terminal, through /bin/sh to set SSH_TTY first. */
export const directLaunch: Launcher = (file, args, env, cwd, terminal) => ({ ...(terminal ? withTtyVariable(file, args) : { file, args }), env, cwd });

export async function startPiped(shell: string, args: string[], channel: ServerChannel, cwd: string, env: Record<string, string>, label: string, launch: Launcher = directLaunch): Promise<Running> {
  const run = launch(shell, args, env, cwd, false);
  // Downloads go through stdout: a real pipe for it when there is one
  // (fifo-pipes.ts), Node's socket pair otherwise (and always for stdin and stderr).
  const forward = new OutputForwarder(channel);
  const output = outputPipe(forward.read);
  let child: ChildProcess;
  try {
    // A synchronous throw (bad arguments) fails the request as it is.
    child = spawn(run.file, run.args, { cwd: run.cwd, env: run.env, stdio: ['pipe', output?.childFd ?? 'pipe', 'pipe'], detached: run.newSession === true });
  } catch (e) {
    output?.stream.destroy();
    throw e;
  } finally {
    // The child has its own copy now (or none: it never started).
    if (output) closeSync(output.childFd);
  }
  // Node sets pid only when the process started; otherwise the reason comes
  // as an 'error' event on the next tick, and with EMFILE there are no pipes
  // either (stdin, stdout and stderr are left unset).
  if (child.pid === undefined) {
    output?.stream.destroy();
    return spawnFailed(child, channel, label);
  }
  if (output) forward.stream = output.stream;
  return attachPiped(child, output ? forward : child.stdout!, channel);
}

/**
 * The program's stdout from a pipe of our own, read into a reused buffer
 * (fifo-pipes.ts) and handed straight to the channel, which copies only what
 * it cannot send at once: no fresh buffer per read, no stream in between.
 * Reading pauses while the channel holds a rest back (the client's window,
 * the socket's backlog).
 */
class OutputForwarder {
  stream: Readable | null = null;
  private pending: Promise<void> | null = null;

  constructor(private readonly channel: ServerChannel) {}

  readonly read = (bytes: Uint8Array): boolean => {
    // Dropped, like any write, once the client closed the channel.
    if (this.channel.closedByPeer) return true;
    const wait = this.channel.raw.sendData(bytes, true);
    if (!wait) return true;
    const pending = wait.then(
      () => {
        if (this.pending === pending) this.pending = null;
        this.stream?.resume();
      },
      () => undefined,
    );
    this.pending = pending;
    // Returning false stops the reads, but only a paused stream starts them again on resume().
    this.stream?.pause();
    return false;
  };

  /** Settles once the channel has taken everything read so far. */
  taken(): Promise<void> {
    return this.pending ?? Promise.resolve();
  }
}

async function spawnFailed(child: ChildProcess, channel: ServerChannel, label: string): Promise<Running> {
  const [err] = (await once(child, 'error')) as [NodeJS.ErrnoException];
  for (const pipe of [child.stdin, child.stdout, child.stderr]) pipe?.destroy();
  if (err.code === undefined || !EXEC_FAILURES.has(err.code)) throw new Error(`cannot run ${label}: ${err.message}`, { cause: err });
  channel.stderr.write(`nacre: cannot run ${label}: ${err.message}\n`);
  channel.exit(127);
  return NOT_RUNNING;
}

function attachPiped(child: ChildProcess, output: Readable | OutputForwarder, channel: ServerChannel): Running {
  const stdin = child.stdin!;
  const stderr = child.stderr!;
  const stdout = output instanceof OutputForwarder ? output.stream! : output;
  // None of these may crash the server with an unhandled 'error' (a failed
  // kill() is one on the child; a pipe can fail like any socket).
  child.on('error', noop);
  for (const pipe of [stdin, stdout, stderr]) pipe.on('error', noop);
  // Output is ended by exit(), after the status, not by the end of the pipes.
  if (!(output instanceof OutputForwarder)) stdout.pipe(channel, { end: false });
  stderr.pipe(channel.stderr, { end: false });
  // The client's packets of one turn go into stdin in one write.
  forwardInto(channel, stdin);
  // 'close' comes after the process exited and the pipes Node made for it
  // have ended; a pipe of our own (fifo-pipes.ts) must end too, and what was
  // read from it be with the channel, before the status goes.
  let waiting = stdout === child.stdout ? 1 : 2;
  let status: [number | null, NodeJS.Signals | null] = [null, null];
  const done = (): void => {
    if (--waiting === 0) finish(channel, status[0], status[1]);
  };
  child.once('close', (code, signal) => {
    status = [code, signal];
    done();
  });
  if (stdout !== child.stdout) stdout.once('close', () => (output instanceof OutputForwarder ? void output.taken().then(done) : done()));
  return {
    signal(name) {
      const sig = validSignal(name);
      if (!sig || child.exitCode !== null) return false;
      return child.kill(sig);
    },
    resize: () => undefined,
    hangup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
      // Our ends of the pipes go now, as sshd closes its own: a background job
      // or a program that ignores SIGHUP could otherwise hold them (and the
      // channel objects behind them) for as long as it lives.
      stdin.destroy();
      stdout.destroy();
      stderr.destroy();
    },
  };
}

export function startPty(shell: string, args: string[], channel: ServerChannel, pty: PtyInfo, cwd: string, env: Record<string, string>, label: string, launch: Launcher = directLaunch): Running | Promise<Running> {
  const mod = loadPty();
  if (!mod) return startScriptPty(shell, args, channel, pty, cwd, env, launch);
  const term = spawnPty(mod, shell, args, pty, cwd, env, label, launch);
  let exited = false;
  let paused = false;
  // What the program wrote last, read before node-pty closes the terminal
  // (see pty-drain.ts); the channel's buffer takes it whatever its level.
  // Once the client closed the channel (a hangup) there is no one to read it.
  drainBeforeClose(term, (bytes) => {
    if (!channel.closedByPeer) channel.write(bytes);
  });
  term.onData((d) => {
    // A slow client (closed window) pauses the terminal instead of filling memory.
    if (!channel.write(typeof d === 'string' ? Buffer.from(d, 'latin1') : d) && !paused) {
      paused = true;
      term.pause();
      channel.once('drain', () => {
        paused = false;
        term.resume();
      });
    }
  });
  // The client's input, with backpressure: a program that does not read its
  // terminal pauses the channel (closing the client's window) instead of
  // filling memory or, through node-pty's own write, blocking the event loop.
  const input = typeof term.fd === 'number' ? new PtyInput(term.fd, () => channel.resume()) : null;
  const toTerminal = (d: Buffer): void => {
    if (exited) return;
    if (!input) term.write(d);
    else if (!input.write(d)) channel.pause();
  };
  channel.on('data', (d: Buffer) => toTerminal(d));
  // EOF on a terminal is the EOF character, as typed.
  channel.on('end', () => toTerminal(Buffer.from([4])));
  term.onExit(({ exitCode, signal }) => {
    exited = true;
    input?.close();
    // node-pty reports exit as soon as the process is reaped; give the last output a moment to arrive.
    setTimeout(() => finish(channel, exitCode, signal ?? null), 20);
  });
  return {
    signal(name) {
      const sig = validSignal(name);
      if (!sig || exited) return false;
      try {
        process.kill(term.pid, sig);
        return true;
      } catch {
        return false;
      }
    },
    resize(cols, rows) {
      if (!exited && cols > 0 && rows > 0) term.resize(cols, rows);
    },
    hangup() {
      if (exited) return;
      term.kill('SIGHUP');
      // Close our side of the terminal too, so a program that ignores SIGHUP
      // does not keep the master (and this session) open.
      input?.close();
      term.destroy?.();
    },
  };
}

/** Starts the program on a new terminal; throws (failing the request) when there is none to be had. */
function spawnPty(mod: PtyModule, shell: string, args: string[], pty: PtyInfo, cwd: string, env: Record<string, string>, label: string, launch: Launcher): Pty {
  // The client's terminal modes, applied by stty before the program starts;
  // IUTF8 is on unless the client turned it off.
  const modes = pty.modes.IUTF8 === undefined ? { ...pty.modes, IUTF8: 1 } : pty.modes;
  const settled = withTerminalSettings(shell, args, sttyArguments(modes));
  const run = launch(settled.file, settled.args, env, cwd, true);
  let term: Pty;
  try {
    // Throws when no terminal or process can be had (forkpty fails on EMFILE).
    // encoding null: bytes as the program wrote them, as sshd passes them on.
    term = mod.spawn(run.file, run.args, { name: pty.term || 'dumb', cols: pty.cols || 80, rows: pty.rows || 24, cwd: run.cwd, env: run.env, encoding: null });
  } catch (e) {
    throw new Error(`cannot run ${label} on a terminal: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  // node-pty rethrows a read error on the terminal other than EIO or EAGAIN
  // (an uncaught exception) unless someone else listens for 'error'.
  term.on?.('error', noop);
  if (term.ptsName) run.terminalOpened?.(term.ptsName);
  return term;
}

/** Without node-pty: `script` from util-linux allocates the terminal (no resizing). */
function startScriptPty(shell: string, args: string[], channel: ServerChannel, pty: PtyInfo, cwd: string, env: Record<string, string>, launch: Launcher): Promise<Running> {
  const quoted = [shell, ...args].map(shellQuote).join(' ');
  const modes = sttyArguments(pty.modes).map(shellQuote).join(' ');
  const sizeFirst = `stty cols ${pty.cols || 80} rows ${pty.rows || 24} ${modes} 2>/dev/null; if t=$(tty 2>/dev/null); then SSH_TTY=$t; export SSH_TTY; fi; exec ${quoted}`;
  return startPiped('/usr/bin/script', ['-qfec', sizeFirst, '/dev/null'], channel, cwd, env, 'script', launch);
}
