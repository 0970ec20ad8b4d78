// Where nacre's questions go, as ssh's read_passphrase decides: the
// controlling terminal (/dev/tty; echo off for secrets), or the SSH_ASKPASS
// program when there is no terminal and a display (or SSH_ASKPASS_REQUIRE
// says so: `force` always, `prefer` whenever it may, `never` not at all).
// BatchMode asks nothing. The terminal and the program are injected so the
// rules are tested without either.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readLineFromFd } from '../common/stdin-line.js';
import { readPassphraseFromTerminal } from '../common/terminal.js';

/** OpenSSH's compiled-in askpass when SSH_ASKPASS is unset. */
const DEFAULT_ASKPASS = '/usr/bin/ssh-askpass';

export interface PromptTerminal {
  /** The terminal, or null when the process has none. */
  open(): number | null;
  /** A line typed with echo on (the fd is closed afterwards); null at end of input. */
  readLine(fd: number, prompt: string): Promise<string | null>;
  /** A secret typed with echo off (the fd is closed afterwards). */
  readSecret(fd: number, prompt: string): Promise<string | null>;
}

export interface PrompterDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly batchMode: boolean;
  readonly terminal?: PromptTerminal;
  /** Runs the askpass program with the prompt; its answer (first line) or null when it failed. */
  readonly runAskpass?: (program: string, prompt: string, confirm: boolean) => string | null;
}

export const processTerminal: PromptTerminal = {
  open() {
    try {
      return openSync('/dev/tty', 'r+');
    } catch {
      return null;
    }
  },
  async readLine(fd, prompt) {
    try {
      writeSync(fd, prompt);
      return readLineFromFd(fd);
    } finally {
      closeSync(fd);
    }
  },
  async readSecret(fd, prompt) {
    try {
      return await readPassphraseFromTerminal(fd, prompt);
    } catch {
      return null;
    }
  },
};

/** ssh_askpass(): the program's standard output up to the first newline; null when it fails. */
export function runAskpassProgram(program: string, prompt: string, confirm: boolean): string | null {
  const r = spawnSync(program, [prompt], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, ...(confirm ? { SSH_ASKPASS_PROMPT: 'confirm' } : {}) },
    maxBuffer: 64 * 1024,
  });
  if (r.error || r.status !== 0) return null;
  const out = r.stdout ?? '';
  const nl = out.search(/\r?\n/);
  return nl >= 0 ? out.slice(0, nl) : out;
}

export class Prompter {
  private readonly terminal: PromptTerminal;
  private readonly runAskpass: NonNullable<PrompterDeps['runAskpass']>;

  constructor(private readonly deps: PrompterDeps) {
    this.terminal = deps.terminal ?? processTerminal;
    this.runAskpass = deps.runAskpass ?? runAskpassProgram;
  }

  /** A password, passphrase or hidden keyboard-interactive answer; null when none can be had. */
  secret(prompt: string): Promise<string | null> {
    return this.ask(prompt, false);
  }

  /** An answer shown as typed (the host key question, echoed keyboard-interactive prompts). */
  line(prompt: string): Promise<string | null> {
    return this.ask(prompt, true);
  }

  private async ask(prompt: string, echo: boolean): Promise<string | null> {
    if (this.deps.batchMode) return null;
    const { env } = this.deps;
    let allowAskpass = Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
    let useAskpass = false;
    const require = env.SSH_ASKPASS_REQUIRE?.toLowerCase();
    if (require === 'force') {
      useAskpass = true;
      allowAskpass = true;
    } else if (require === 'prefer') {
      useAskpass = allowAskpass;
    } else if (require === 'never') {
      allowAskpass = false;
    }
    let fd: number | null = null;
    if (!useAskpass) {
      fd = this.terminal.open();
      if (fd === null) useAskpass = true;
    }
    if (useAskpass) {
      if (fd !== null) closeSync(fd);
      if (!allowAskpass) return null;
      return this.runAskpass(env.SSH_ASKPASS || DEFAULT_ASKPASS, prompt, false);
    }
    return echo ? this.terminal.readLine(fd!, prompt) : this.terminal.readSecret(fd!, prompt);
  }
}
