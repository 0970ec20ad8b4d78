// Going to the background after authentication, as `ssh -f` and
// ControlPersist do.
//
// ssh forks once the connection is up: the parent exits, the child keeps the
// connection. Node cannot fork, and a connection's state (keys, sequence
// numbers, the socket) cannot move to another process. So the order is
// turned round: the foreground process starts a copy of itself at once (same
// program, same arguments, NACRE_BACKGROUND naming a pipe on fd 3), the copy
// does all the work, and the foreground only waits to hear over that pipe
// that the copy is ready (authenticated, forwardings up) or has failed.
//
// The copy stays in the foreground's session and process group, not
// detached (setsid): it must still reach /dev/tty for host key questions,
// passwords and passphrases, which come before readiness. Once ready it
// ignores SIGHUP, as a daemon would; the shell no longer sends it terminal
// signals because the job (the foreground process) has finished.

import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { hasEscapedBytes } from '../../mux-entry.js';
import { rawArguments } from './raw-argv.js';
import { shellCommandText, shellQuote } from './shell-bytes.js';

/** The environment variable that tells a process it is the background copy; its value is the status pipe's fd. */
export const BACKGROUND_ENV = 'NACRE_BACKGROUND';

/** What the copy reports; one JSON line on the status pipe. */
type StatusLine = { readonly ready: true } | { readonly ready: false; readonly code: number; readonly message: string };

/** How the foreground starts its copy. */
export interface BackgroundStartOptions {
  /** The program and its arguments; default: this process again (`process.execPath`, `execArgv`, `argv`). */
  readonly command?: { readonly file: string; readonly args: readonly string[] };
  /**
   * `'inherit'` (ssh -f): the copy writes to the foreground's stdout and
   * stderr for as long as it runs; stdin is /dev/null, as -f implies -n.
   * `'detach'` (a ControlPersist master): stdout is /dev/null, and stderr
   * reaches the foreground's only until readiness (the foreground relays it
   * and then closes the pipe), so `$(nacre ...)` does not wait for the master.
   */
  readonly stdio?: 'inherit' | 'detach';
  /** Extra environment for the copy (the process's own is passed too). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where relayed stderr goes in `'detach'` mode; default process.stderr. */
  readonly stderr?: (chunk: Buffer) => void;
}

/** How the foreground's wait ended. */
export interface BackgroundOutcome {
  /** 0 when the copy said it is ready; else the status to exit with. */
  readonly code: number;
  /** The copy's failure message (already formatted as it would print it), or ''. */
  readonly message: string;
  /** The copy's pid. */
  readonly pid: number;
}

/**
 * In the foreground: starts the background copy and waits until it is ready
 * (code 0), reports a failure (its code and message), or exits without a
 * word (its exit status, or 255 when killed). The caller then exits with
 * the code, printing the message first.
 */
export function startInBackground(options: BackgroundStartOptions = {}): Promise<BackgroundOutcome> {
  const { file, args } = options.command ?? thisProgramAgain();
  const detachMode = options.stdio === 'detach';
  const stdio: StdioOptions = ['ignore', detachMode ? 'ignore' : 'inherit', detachMode ? 'pipe' : 'inherit', 'pipe'];
  const child = spawn(file, args, { stdio, env: { ...process.env, ...options.env, [BACKGROUND_ENV]: '3' } });
  const writeErr = options.stderr ?? ((b: Buffer) => void process.stderr.write(b));
  return new Promise((resolve) => {
    let settled = false;
    let text = '';
    const finish = (code: number, message: string): void => {
      if (settled) return;
      settled = true;
      process.off('SIGTERM', onTerm);
      child.stdio[3]?.destroy();
      if (detachMode) child.stderr?.destroy();
      // Ready: nothing ties this process to the copy any more.
      if (code === 0) child.unref();
      resolve({ code, message, pid: child.pid ?? 0 });
    };
    // Killed while waiting: take the copy along, it has no one to report to.
    const onTerm = (): void => {
      child.kill('SIGTERM');
      process.exit(255);
    };
    process.on('SIGTERM', onTerm);
    child.stderr?.on('data', (b: Buffer) => {
      if (!settled) writeErr(b);
    });
    const status = child.stdio[3];
    status?.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      if (text.length > 65536) return finish(255, 'background process: status report too long');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const line = parseStatus(text.slice(0, nl));
      if (!line) return finish(255, 'background process: unreadable status report');
      finish(line.ready ? 0 : line.code, line.ready ? '' : line.message);
    });
    status?.on('error', () => {});
    child.on('error', (err) => finish(255, `cannot start the background process: ${err.message}`));
    // 'close', not 'exit': a report written just before exiting is read first.
    child.on('close', (code) => finish(code ?? 255, ''));
  });
}

/**
 * This program with its arguments as typed. Node gives a child only UTF-8
 * strings, so arguments holding other bytes (a remote command naming such a
 * file, read back by raw-argv.ts) reach the copy through /bin/sh, which
 * hands it the bytes (exec: the copy is still the child).
 */
function thisProgramAgain(): { file: string; args: string[] } {
  const args = [...process.execArgv, ...process.argv.slice(1, 2), ...rawArguments()];
  if (!args.some(hasEscapedBytes)) return { file: process.execPath, args };
  return { file: '/bin/sh', args: ['-c', shellCommandText(`exec ${[process.execPath, ...args].map(shellQuote).join(' ')}`)] };
}

function parseStatus(text: string): StatusLine | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const o = v as Record<string, unknown>;
    if (o.ready === true) return { ready: true };
    if (o.ready === false && typeof o.code === 'number' && Number.isInteger(o.code) && o.code >= 0 && o.code <= 255 && typeof o.message === 'string') {
      return { ready: false, code: o.code, message: o.message };
    }
    return null;
  } catch {
    return null;
  }
}

/** In the background copy: what it tells the foreground. */
export interface BackgroundChild {
  /** Authentication and forwardings are done: the foreground exits 0. Idempotent. */
  ready(): void;
  /** Gave up before readiness: the foreground prints `message` (when not '') and exits with `code`. */
  fail(code: number, message: string): void;
  /** Whether ready() or fail() was called. */
  readonly reported: boolean;
}

let current: BackgroundChild | null | undefined;

/**
 * The background copy's handle when this process is one (NACRE_BACKGROUND
 * set), else null. The variable is removed from process.env so that
 * commands this process runs (ProxyCommand, LocalCommand) do not see it.
 */
export function backgroundChild(): BackgroundChild | null {
  if (current !== undefined) return current;
  const value = process.env[BACKGROUND_ENV];
  delete process.env[BACKGROUND_ENV];
  const fd = value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : -1;
  current = fd < 0 ? null : statusPipe(fd);
  return current;
}

function statusPipe(fd: number): BackgroundChild {
  let reported = false;
  const send = (line: StatusLine): void => {
    if (reported) return;
    reported = true;
    try {
      writeSync(fd, JSON.stringify(line) + '\n');
    } catch {
      // The foreground is gone (killed): nothing to tell.
    }
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  };
  return {
    ready() {
      if (reported) return;
      send({ ready: true });
      // Like daemon(3): the terminal's hangup no longer ends us; a stderr
      // whose reader went away must not either.
      process.on('SIGHUP', () => {});
      process.stderr.on('error', () => {});
      process.stdout.on('error', () => {});
    },
    fail(code: number, message: string) {
      send({ ready: false, code: Math.max(0, Math.min(255, Math.trunc(code))), message });
    },
    get reported() {
      return reported;
    },
  };
}

/** For tests: forget the cached handle so backgroundChild() reads the environment again. */
export function resetBackgroundChildForTests(): void {
  current = undefined;
}
