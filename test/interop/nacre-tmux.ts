// A private tmux server for the interactive tests: one detached session per
// test whose pane runs a plain bash (no rc files, prompt `pane$ `), into
// which a test types like a user, and whose screen it reads. Its own socket
// and an empty config (status line off, TERM screen, which Debian's
// ncurses-base always has), so nothing of the user's tmux is touched.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function findTmux(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, 'tmux');
    if (dir && existsSync(p)) return p;
  }
  return null;
}

export const PANE_PROMPT = 'pane$ ';

export class TmuxPane {
  private readonly socket: string;
  private readonly target = 'term:0.0';

  constructor(
    private readonly tmux: string,
    dir: string,
    cols: number,
    rows: number,
  ) {
    this.socket = join(dir, 'tmux.sock');
    this.run(['-f', '/dev/null', 'new-session', '-d', '-s', 'term', '-x', String(cols), '-y', String(rows), 'env', '-i', `PATH=${process.env.PATH}`, `HOME=${process.env.HOME}`, `PS1=${PANE_PROMPT}`, 'TERM=screen', 'bash', '--norc', '--noprofile']);
    this.run(['set-option', '-g', 'status', 'off']);
    this.run(['set-option', '-g', 'history-limit', '5000']);
  }

  private run(args: string[]): string {
    const r = spawnSync(this.tmux, ['-S', this.socket, ...args], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Types `text` literally (no key names). */
  type(text: string): void {
    this.run(['send-keys', '-t', this.target, '-l', '--', text]);
  }

  /** Sends raw bytes to the pane's terminal as typed (any byte, UTF-8 or not). */
  bytes(bytes: Uint8Array): void {
    this.run(['send-keys', '-t', this.target, '-H', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))]);
  }

  /** Presses keys by tmux name (`Enter`, `C-c`, ...). */
  keys(...names: string[]): void {
    this.run(['send-keys', '-t', this.target, ...names]);
  }

  /** Types a line and presses Enter. */
  line(text: string): void {
    this.type(text);
    this.keys('Enter');
  }

  /** The visible screen, plus `history` lines above it (trailing blanks of each line cut). */
  screen(history = 0): string {
    const text = this.run(['capture-pane', '-p', '-t', this.target, ...(history > 0 ? ['-S', String(-history)] : [])]);
    return text.split('\n').map((l) => l.trimEnd()).join('\n');
  }

  /** Everything since the pane started. */
  all(): string {
    const text = this.run(['capture-pane', '-p', '-J', '-t', this.target, '-S', '-']);
    return text.split('\n').map((l) => l.trimEnd()).join('\n');
  }

  resize(cols: number, rows: number): void {
    this.run(['resize-window', '-t', 'term:0', '-x', String(cols), '-y', String(rows)]);
  }

  /** Polls the whole pane text until `test` matches; throws with the screen after `ms`. */
  async waitFor(test: RegExp | ((text: string) => boolean), ms = 15000, what = String(test)): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const text = this.all();
      if (typeof test === 'function' ? test(text) : test.test(text)) return text;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the pane shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** How many times `s` occurs in the pane so far (to wait for the next occurrence). */
  count(s: string): number {
    return this.all().split(s).length - 1;
  }

  /** Waits for one more occurrence of `s` than there are now, after `action`. */
  async next(s: string, action: () => void, ms = 15000): Promise<string> {
    const before = this.count(s);
    action();
    return this.waitFor((t) => t.split(s).length - 1 > before, ms, JSON.stringify(s));
  }

  /** Ends the tmux server and everything in it. */
  kill(): void {
    spawnSync(this.tmux, ['-S', this.socket, 'kill-server'], { timeout: 5000 });
  }
}
