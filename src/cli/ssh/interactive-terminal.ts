// The local terminal as an interactive session needs it: its settings for
// the pty-req (TERM, size, modes), raw mode on and off, window-size changes
// and suspending the process. One interface, so the session runner is tested
// with a fake; processTerminal() is the real one, on standard input.
import { spawnSync } from 'node:child_process';
import type { ReadStream, WriteStream } from 'node:tty';
import { parseSttyAll, type LocalTerminalSettings } from './tty-modes.js';

export interface WindowSize {
  readonly cols: number;
  readonly rows: number;
}

export interface TerminalControl {
  /** The modes (and size, when stty printed it) of the terminal on standard input; null when they cannot be read. */
  settings(): LocalTerminalSettings | null;
  /** The current window size, or null when unknown. */
  size(): WindowSize | null;
  /** ssh's raw mode: no echo, no line editing, no signals from keys, no output processing. */
  enterRaw(): void;
  /** Back to the settings from before enterRaw; harmless when not raw. Synchronous, so it can run in an 'exit' listener. */
  leaveRaw(): void;
  /** Calls `listener` on every window-size change (SIGWINCH); returns the unsubscribe function. */
  onResize(listener: () => void): () => void;
  /** Stops the process as ^Z would (SIGTSTP) and returns once it was continued. */
  suspend(): void;
}

/**
 * The terminal on standard input, or null when standard input is not a
 * terminal (then ssh sends no modes and never goes raw).
 *
 * Modes are read by running `stty -a` on standard input (one process, about
 * 2 ms, once per session): Node offers no tcgetattr. Raw mode is Node's
 * setRawMode (libuv keeps the previous termios and restores it whole) plus
 * `stty -opost` (a second ~2 ms process), because libuv's raw mode keeps
 * output processing on, and then a full-screen program's bare LF (cursor down,
 * same column) would reach the screen as CR LF.
 */
export function processTerminal(): TerminalControl | null {
  const stdin = process.stdin as ReadStream;
  if (!stdin.isTTY) return null;
  let raw = false;
  const ttyOut: WriteStream | undefined = [process.stdout, process.stderr].find((s) => s.isTTY === true);
  const stty = (args: string[]): string | null => {
    const r = spawnSync('stty', args, { stdio: [0, 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 });
    return r.status === 0 ? r.stdout : null;
  };
  return {
    settings() {
      const text = stty(['-a']);
      return text === null ? null : parseSttyAll(text);
    },
    size() {
      if (ttyOut) {
        const [cols, rows] = ttyOut.getWindowSize();
        return { cols, rows };
      }
      const text = stty(['size']);
      const m = text === null ? null : /^(\d+) (\d+)/.exec(text);
      return m ? { rows: Number(m[1]), cols: Number(m[2]) } : null;
    },
    enterRaw() {
      if (raw) return;
      stdin.setRawMode(true);
      raw = true;
      stty(['-opost']);
    },
    leaveRaw() {
      if (!raw) return;
      raw = false;
      try {
        stdin.setRawMode(false);
      } catch {
        // The terminal is gone (hung up); nothing left to restore.
      }
    },
    onResize(listener) {
      process.on('SIGWINCH', listener);
      return () => void process.off('SIGWINCH', listener);
    },
    suspend() {
      // With no listener for SIGTSTP its default action applies: the process
      // stops here, inside kill(), and carries on when continued (SIGCONT).
      process.kill(process.pid, 'SIGTSTP');
    },
  };
}
