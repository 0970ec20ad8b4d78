// One `nacre` session, as ssh's client loop runs it: the shell or command on
// a session channel, with a PTY carrying the local terminal's TERM, size and
// modes when one was decided on, the local terminal raw meanwhile (and put
// back on every way out), window-size changes forwarded, escape sequences
// (`~.` `~C` ...) filtered out of what is typed, and standard input, output
// and error relayed with backpressure both ways. Without a PTY it is the
// plain relay (standard input to the command with EOF at its end, or none
// at all with -n). The result is ssh's exit status: the command's, or 255.
import type { Readable, Writable } from 'node:stream';
import type { Client, PtyOptions, RemoteProcess } from '../../index.js';
import { EscapeFilter, escapeEcho, escapeHelp, verbosityEcho, type EscapeAction } from './escape.js';
import { CommandLineEditor, ESCAPE_COMMAND_HELP, ESCAPE_LOCAL_COMMAND_HELP, forwardingCommandLine, parseEscapeCommand, type EscapeForwarding } from './escape-command.js';
import { processTerminal, type TerminalControl } from './interactive-terminal.js';
import { ChunkReader, drained, relay } from './interactive-streams.js';
import { isPeerDisconnect } from '../common/peer-disconnect.js';
import { remoteCommand } from './session.js';

/** What `nacre` resolved for the session. */
export interface SessionSpec {
  /** The remote command; absent for the login shell. */
  readonly command?: string;
  /** Whether to request a PTY (RequestTTY as nacre decided it, `-t`/`-T`). */
  readonly pty: boolean;
  /** TERM for the PTY; default `$TERM` (empty when unset, as ssh sends). */
  readonly term?: string;
  /** EscapeChar as a byte, null for none; default `~`. Only a PTY session has escapes, as in ssh. */
  readonly escapeChar?: number | null;
  /**
   * EnableEscapeCommandline: whether `~C` opens the command line. Default
   * true; OpenSSH 10 defaults to no (its command line is off so its
   * sandbox can be tighter), where `~C` answers "commandline disabled".
   */
  readonly escapeCommandLine?: boolean;
  /** SendEnv/SetEnv variables (the server may refuse some, as sshd's AcceptEnv does). */
  readonly env?: Readonly<Record<string, string>>;
  /** `-n`: standard input is not read; the command gets EOF at once. */
  readonly stdinNull?: boolean;
  /** The host as typed, for "Connection to host closed." */
  readonly host: string;
  /** LogLevel QUIET (`-q`): no closing message. */
  readonly quiet?: boolean;
}

/** What escape sequences reach beyond the session. All optional. */
export interface SessionHooks {
  /** `~C` -L/-R/-D and their cancels, and the forwardings `~#` lists. */
  readonly forwarding?: EscapeForwarding;
  /** `~v` (+1) / `~V` (-1): change the log level one step; returns its name as ssh prints it (`DEBUG1`). */
  changeLogLevel?(step: 1 | -1): string;
  /**
   * `~&`: go to the background (standard input is then closed to the
   * session). Without it `~&` means nothing here: it is left out of `~?` and
   * passes through to the session, as in ssh's mux client.
   */
  background?(): void;
  /**
   * `!command` at the `~C` prompt (PermitLocalCommand yes): runs the command
   * locally with the terminal cooked, and resolves when it has ended.
   * Without it `!` is an invalid command, as in ssh by default.
   */
  localCommand?(command: string): Promise<void>;
}

/** The process's side of a session, as an object so tests can run one with fakes. */
export interface SessionIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** The local terminal on standard input, or null when there is none. */
  readonly terminal: TerminalControl | null;
  /** Subscribes to SIGINT, SIGTERM, SIGHUP and SIGQUIT from outside; returns the unsubscribe. */
  onSignal(listener: (signal: NodeJS.Signals) => void): () => void;
  /** Subscribes to the process's exit, the last chance to restore the terminal; returns the unsubscribe. */
  onExit(listener: () => void): () => void;
}

const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export function processSessionIo(): SessionIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    terminal: processTerminal(),
    onSignal(listener) {
      for (const s of ENDING_SIGNALS) process.on(s, listener);
      return () => {
        for (const s of ENDING_SIGNALS) process.off(s, listener);
      };
    },
    onExit(listener) {
      process.on('exit', listener);
      return () => void process.off('exit', listener);
    },
  };
}

const TILDE = 0x7e;

/** ssh's LogLevel names, quietest first, for `~V`/`~v` when nacre gave no hook. */
const LEVEL_NAMES = ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG1', 'DEBUG2', 'DEBUG3'] as const;

/** The pty-req of `spec` from the local terminal (80×24 and no modes when there is none). */
export function ptyOptionsFor(spec: SessionSpec, terminal: TerminalControl | null, env: NodeJS.ProcessEnv = process.env): PtyOptions {
  const settings = terminal?.settings() ?? null;
  const size = terminal?.size() ?? null;
  return {
    term: spec.term ?? env.TERM ?? '',
    cols: size?.cols ?? settings?.cols ?? 80,
    rows: size?.rows ?? settings?.rows ?? 24,
    modes: settings?.modes ?? {},
  };
}

/**
 * Runs the session `spec` on `client` and resolves its exit status (the
 * remote command's; 255 when it died of a signal, the connection was lost,
 * `~.` ended it or a signal from outside did). The client is left open
 * except after `~.`, which closes the connection as in ssh. Failing to open
 * the session (a refused PTY or command) rejects, before the terminal is
 * touched.
 */
export async function runSession(client: Client, spec: SessionSpec, hooks: SessionHooks = {}, io: SessionIo = processSessionIo()): Promise<number> {
  const terminal = spec.pty ? io.terminal : null;
  const options = {
    pty: spec.pty ? ptyOptionsFor(spec, terminal) : false,
    ...(spec.env ? { env: spec.env } : {}),
  };
  const proc = spec.command !== undefined ? await client.spawn(remoteCommand(spec.command), options) : await client.shell(options);
  return new SessionRun(client, proc, spec, hooks, io, terminal).run();
}

type Ending = { readonly kind: 'exit'; readonly status: number } | { readonly kind: 'quit'; readonly status: number; readonly closeConnection: boolean };

class SessionRun {
  private readonly escapes: EscapeFilter | null;
  private readonly escapeChar: number;
  private editor: CommandLineEditor | null = null;
  private ended = false;
  private stopInput: () => void = () => undefined;
  private endWith: (ending: Ending) => void = () => undefined;
  private connectionError: Error | null = null;
  private levelIndex = LEVEL_NAMES.indexOf('INFO');

  constructor(
    private readonly client: Client,
    private readonly proc: RemoteProcess,
    private readonly spec: SessionSpec,
    private readonly hooks: SessionHooks,
    private readonly io: SessionIo,
    /** The terminal to make raw: set only for a PTY session on a local terminal. */
    private readonly terminal: TerminalControl | null,
  ) {
    const esc = spec.escapeChar === undefined ? TILDE : spec.escapeChar;
    this.escapeChar = esc ?? TILDE;
    this.escapes = spec.pty && esc !== null ? new EscapeFilter(esc, new Set(hooks.background ? [] : ['background'])) : null;
  }

  async run(): Promise<number> {
    const { proc, io, terminal } = this;
    const undo: Array<() => void> = [];
    const onClose = (err: Error | null): void => {
      this.connectionError = err;
    };
    this.client.on('close', onClose);
    undo.push(() => this.client.off('close', onClose));
    // Kept until the terminal is back, whatever happens meanwhile.
    const removeExitListener = terminal ? io.onExit(() => terminal.leaveRaw()) : () => undefined;
    if (terminal) {
      terminal.enterRaw();
      undo.push(terminal.onResize(() => this.sendWindowSize()));
    }
    undo.push(io.onSignal(() => this.quit(255, false)));

    // Our stdout or stderr failing (a reader gone: EPIPE) ends the channel,
    // as ssh's failed write does; the remote command then sees its output
    // closed, and the session's status follows.
    const broken = (): void => proc.close();
    const outputs = Promise.all([relay(proc.stdout, io.stdout, broken), relay(proc.stderr, io.stderr, broken)]);
    if (this.spec.stdinNull) this.endInput();
    // Whatever goes wrong handling input (the terminal gone while going raw
    // again) ends the session as a lost terminal would, never unhandled.
    else this.pumpInput().catch(() => this.quit(255, false));

    const quitting = new Promise<Ending>((resolve) => (this.endWith = resolve));
    // ssh exits with the status it got, which the system cuts to 8 bits.
    const exited = proc.exit.then(async (info): Promise<Ending> => {
      // No status at all: the channel went with the connection, whose
      // 'close' may come a moment after the channel's.
      if (info.code === null && info.signal === null) await this.connectionEnd();
      return { kind: 'exit', status: info.code === null ? 255 : info.code & 0xff };
    });
    const ending = await Promise.race([exited, quitting]);
    this.ended = true;
    this.stopInput();
    for (const u of undo.reverse()) u();
    if (ending.kind === 'exit') {
      await outputs;
    } else {
      proc.close();
      if (ending.closeConnection) await this.client.close().catch(() => undefined);
    }
    terminal?.leaveRaw();
    removeExitListener();
    this.closingMessage(ending);
    return ending.status;
  }

  /** Waits briefly for the connection's end to be known (its error kept by the 'close' listener). */
  private async connectionEnd(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.closed.then((err) => {
        if (err) this.connectionError = err;
      }),
      new Promise<void>((r) => (timer = setTimeout(r, 200))),
    ]);
    clearTimeout(timer);
  }

  private closingMessage(ending: Ending): void {
    if (this.spec.quiet) return;
    // A DISCONNECT from the server: ssh's own two lines say it (connection-flow.ts), nothing more.
    if (isPeerDisconnect(this.connectionError)) return;
    const host = this.spec.host.slice(0, 64);
    if (this.connectionError && ending.kind === 'exit') this.io.stderr.write(`Connection to ${host} closed by remote host.\r\n`);
    // ssh says this after every PTY session, `~.` included.
    if (this.spec.pty) this.io.stderr.write(`Connection to ${host} closed.\r\n`);
  }

  private quit(status: number, closeConnection: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.endWith({ kind: 'quit', status, closeConnection });
  }

  private sendWindowSize(): void {
    const size = this.io.terminal?.size();
    if (size && !this.ended) this.proc.resize(size.cols, size.rows).catch(() => undefined);
  }

  /** EOF to the session (ssh closes the channel's input when its stdin ends). */
  private endInput(): void {
    const stdin = this.proc.stdin;
    if (!stdin.destroyed && !stdin.writableEnded) stdin.end();
  }

  private async pumpInput(): Promise<void> {
    const reader = new ChunkReader(this.io.stdin);
    this.stopInput = () => reader.stop();
    for (;;) {
      const chunk = await reader.next();
      if (chunk === null || this.ended) break;
      await this.input(chunk);
    }
    if (!this.ended) this.endInput();
  }

  /** Typed bytes: to the `~C` prompt while it is open, else through the escape filter to the session. */
  private async input(chunk: Uint8Array): Promise<void> {
    let rest = chunk;
    while (rest.length > 0 && !this.ended) {
      if (this.editor) {
        const r = this.editor.feed(rest);
        if (r.echo) this.io.stderr.write(r.echo);
        rest = r.rest;
        if (r.line !== undefined) {
          this.editor = null;
          if (r.line !== null) await this.commandLine(r.line);
        }
        continue;
      }
      if (!this.escapes) {
        await this.send(rest);
        return;
      }
      const r = this.escapes.feed(rest);
      rest = r.rest;
      for (const e of r.events) {
        if (this.ended) return;
        if (e.kind === 'data') await this.send(e.bytes);
        else await this.act(e.action);
      }
    }
  }

  /** Writes to the session, waiting while its window (or the socket) is full. */
  private async send(bytes: Uint8Array): Promise<void> {
    const stdin = this.proc.stdin;
    if (stdin.destroyed || stdin.writableEnded) return;
    if (!stdin.write(bytes)) await drained(stdin);
  }

  private async act(action: EscapeAction): Promise<void> {
    const err = this.io.stderr;
    const echo = escapeEcho(this.escapeChar, action);
    switch (action) {
      case 'disconnect':
        err.write(echo);
        this.quit(255, true);
        return;
      case 'suspend':
        err.write(echo);
        if (this.terminal) {
          this.terminal.leaveRaw();
          this.terminal.suspend();
          this.terminal.enterRaw();
          // The window may have changed while we were stopped.
          this.sendWindowSize();
        }
        return;
      case 'break':
        err.write(echo);
        this.proc.channel.request('break', uint32(1000), false).catch(() => undefined);
        return;
      case 'rekey':
        err.write(echo);
        try {
          this.client.rekey();
        } catch (e) {
          err.write(`rekey: ${(e as Error).message}\r\n`);
        }
        return;
      case 'verbosity-down':
      case 'verbosity-up': {
        const step = action === 'verbosity-up' ? 1 : -1;
        let name: string;
        if (this.hooks.changeLogLevel) name = this.hooks.changeLogLevel(step);
        else {
          this.levelIndex = Math.min(LEVEL_NAMES.length - 1, Math.max(0, this.levelIndex + step));
          name = LEVEL_NAMES[this.levelIndex]!;
        }
        err.write(verbosityEcho(this.escapeChar, action, name));
        return;
      }
      case 'background':
        // The filter passes `~&` through when there is no hook.
        if (!this.hooks.background) return;
        err.write(echo);
        this.terminal?.leaveRaw();
        this.ended = true;
        this.stopInput();
        this.endInput();
        this.hooks.background();
        return;
      case 'list':
        err.write(echo + this.openConnections());
        return;
      case 'help':
        err.write(escapeHelp(this.escapeChar, this.spec.escapeCommandLine !== false, this.hooks.background !== undefined));
        return;
      case 'command-line':
        if (this.spec.escapeCommandLine === false) {
          err.write('commandline disabled\r\n');
          return;
        }
        err.write('\r\nssh> ');
        this.editor = new CommandLineEditor();
        return;
    }
  }

  /** `~#`: the session channel and the forwarded connections nacre reports. */
  private openConnections(): string {
    const lines = [`#${this.proc.channel.id} client-session (${this.spec.command === undefined ? 'shell' : 'command'})`, ...(this.hooks.forwarding?.list() ?? [])];
    return 'The following connections are open:\r\n' + lines.map((l) => `  ${l}\r\n`).join('');
  }

  /** Carries out a `~C` line, with ssh's answers. */
  private async commandLine(line: string): Promise<void> {
    const say = (text: string): void => void this.io.stderr.write(text + '\r\n');
    const local = this.hooks.localCommand;
    const cmd = parseEscapeCommand(line, local !== undefined);
    switch (cmd.kind) {
      case 'none':
        return;
      case 'help':
        ESCAPE_COMMAND_HELP.forEach(say);
        if (local) say(ESCAPE_LOCAL_COMMAND_HELP);
        return;
      case 'local':
        // ssh runs it with the terminal cooked, and waits for it.
        this.terminal?.leaveRaw();
        try {
          await local!(cmd.command);
        } finally {
          if (!this.ended) this.terminal?.enterRaw();
        }
        return;
      case 'invalid':
        say('Invalid command.');
        return;
      case 'add':
      case 'cancel': {
        const control = this.hooks.forwarding;
        if (!control) {
          say('Port forwarding failed.');
          return;
        }
        // As ssh, the command runs with the terminal cooked: the forwarding
        // module's own log lines end in a bare LF.
        this.terminal?.leaveRaw();
        try {
          const answer = await control.command(forwardingCommandLine(cmd));
          if (answer !== '') this.io.stderr.write(answer + '\n');
        } catch (e) {
          this.io.stderr.write(`${(e as Error).message}\nPort forwarding failed.\n`);
        } finally {
          if (!this.ended) this.terminal?.enterRaw();
        }
        return;
      }
    }
  }
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
