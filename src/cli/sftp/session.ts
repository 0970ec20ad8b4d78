// The sftp session once connected, as sftp.c's interactive_loop runs it:
// the starting directory (realpath "."), a `host:path` destination (a
// directory to change to, or a file fetched before exiting), then commands
// from a batch file (`-b file`, `-b -`: each echoed after `sftp> `, the first
// failure ends the session with status 1 unless the line starts with `-`),
// from piped input (echoed, failures ignored), or from the terminal: a line
// editor with the `sftp> ` prompt, history and tab completion
// (node:readline), Ctrl-C clearing the line at the prompt and cancelling
// the running command (a transfer is aborted) otherwise. The terminal is
// given back on every way out, and to `!` commands while they run.
import { createReadStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fsPath, pathFromBytes, showPath } from '../../sftp-entry.js';
import { CliExit } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { createProgressMeter } from '../common/progress.js';
import type { SftpArgs } from './args.js';
import { SftpShell, type CommandOutcome } from './commands.js';
import { completeLine } from './complete.js';
import { glob } from '../common/glob.js';
import { nodeLocalOps } from './local.js';
import { EscapedTerminalInput, showEscapedBytes, type RawTerminal } from './terminal-input.js';
import { makeAbsolute, type RemoteFs } from './remote.js';

/** The longest command line sftp reads (its buffer is 2048 bytes). */
const MAX_COMMAND_LINE = 2048;

export interface SessionStreams {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown; columns?: number };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

function processStreams(): SessionStreams {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Runs the session over `sftp`; the exit status. */
export async function runSftpSession(sftp: RemoteFs, args: SftpArgs, io: CliIo, streams: SessionStreams = processStreams()): Promise<number> {
  let start: string;
  try {
    start = await sftp.realpath('.');
  } catch {
    throw new CliExit(255, 'Need cwd');
  }
  const interactive = args.batchFile === undefined && streams.stdin.isTTY === true;
  let rl: Interface | undefined;
  const local = nodeLocalOps({
    env: streams.env,
    beforeShell: () => {
      rl?.pause();
      if (interactive) streams.stdin.setRawMode?.(false);
    },
    afterShell: () => {
      if (interactive && rl) streams.stdin.setRawMode?.(true);
      rl?.resume();
    },
  });
  const progressAllowed = args.progress && streams.stdout.isTTY === true;
  const shell = new SftpShell(
    {
      remote: sftp,
      local,
      // Names whose bytes are not UTF-8 shown as sftp shows them (x\377).
      out: (t) => io.out(showPath(t)),
      err: (t) => io.err(showPath(t)),
      progressMeter: () => createProgressMeter({ quiet: false, stream: streams.stdout as unknown as { write(t: string): unknown; isTTY?: boolean; columns?: number } }),
      nowSeconds: () => Math.floor(io.now().getTime() / 1000),
      columns: () => streams.stdin.columns ?? streams.stdout.columns ?? 80,
    },
    start,
    {
      quiet: args.quiet,
      progress: progressAllowed,
      resume: args.resume,
      preserve: args.preserve,
      recursive: args.recursive,
      fsync: args.fsync,
      ...(args.requests !== undefined ? { concurrency: args.requests } : {}),
      ...(args.bufferSize !== undefined ? { chunkSize: args.bufferSize } : {}),
      ...(args.limitBitsPerSecond !== undefined ? { bandwidthLimit: args.limitBitsPerSecond } : {}),
    },
  );

  // Ctrl-C while a command runs: "Interrupt", and the command's signal aborts it.
  let running: AbortController | undefined;
  const interrupt = (): boolean => {
    if (!running) return false;
    io.err(interruptLine(streams.stderr));
    running.abort();
    return true;
  };
  // SIGTERM or SIGHUP (a terminal window closed): a running command is
  // aborted and settles first (a transfer's partial file is then left under
  // its own name, not as a hidden temporary), then the exit is sftp's
  // killchild's, status 1. Bounded: a connection that hangs does not hold it.
  let ending = false;
  const endOnSignal = (): void => {
    if (ending) return;
    ending = true;
    if (!running) process.exit(1);
    running.abort();
    setTimeout(() => process.exit(1), SETTLE_MS).unref();
  };
  const settledAfterSignal = (): void => {
    if (ending) process.exit(1);
  };
  process.on('SIGTERM', endOnSignal);
  process.on('SIGHUP', endOnSignal);
  try {
    return await runCommands();
  } finally {
    process.off('SIGTERM', endOnSignal);
    process.off('SIGHUP', endOnSignal);
  }

  async function runCommands(): Promise<number> {
    const run = async (line: string, errAbort: boolean, echo: boolean): Promise<CommandOutcome> => {
      running = new AbortController();
      let outcome: CommandOutcome;
      try {
        outcome = await shell.runLine(line, { errAbort, echo, signal: running.signal });
      } finally {
        running = undefined;
        settledAfterSignal();
      }
      // As sftp's fatal() when its ssh goes away.
      if (outcome === 'lost') lostConnection();
      return outcome;
    };

    // A destination's path: change to it, or fetch the file it names and exit.
    const file1 = args.destination.path;
    if (file1 !== undefined) {
      const dir = makeAbsolute(file1, start);
      let isDir = false;
      try {
        isDir = (((await sftp.stat(dir)).mode ?? 0) & 0o170000) === 0o040000;
      } catch {
        isDir = false;
      }
      if (isDir && args.localTarget === undefined) {
        if (!args.quiet) io.out(showPath(`Changing to: ${dir}\n`));
        // The path as given, not through the command parser (no quoting to get wrong).
        if (!(await shell.changeDirectory(dir))) return shell.connectionLost ? lostConnection() : 1;
      } else {
        running = new AbortController();
        const onSigint = (): void => void interrupt();
        process.on('SIGINT', onSigint);
        try {
          if (await shell.fetch(dir, args.localTarget, running.signal)) return 0;
          return shell.connectionLost ? lostConnection() : 1;
        } finally {
          process.off('SIGINT', onSigint);
          running = undefined;
          settledAfterSignal();
        }
      }
    }

    if (args.batchFile !== undefined) return runBatch(args.batchFile, streams, run, interrupt);
    if (!interactive) return runPiped(streams, run, interrupt);
    return runInteractive(shell, streams, run, interrupt, (r) => (rl = r));
  }
}

/** How long a command aborted by SIGTERM or SIGHUP may take to settle before the exit. */
const SETTLE_MS = 3000;

/**
 * "Interrupt" on a line of its own: on a terminal the line (a progress bar's
 * tail) is cleared first; elsewhere sftp's bytes.
 */
function interruptLine(stderr: { isTTY?: boolean }): string {
  return stderr.isTTY === true ? '\r\x1b[KInterrupt\n' : '\rInterrupt  \n';
}

function lostConnection(): never {
  throw new CliExit(255, 'Connection closed');
}

type Runner = (line: string, errAbort: boolean, echo: boolean) => Promise<CommandOutcome>;

/**
 * The lines a readline interface gives, one at a time: `take()` is a line
 * already queued, null at the end, or undefined when the caller must wait
 * (`wait()`). `pauseWhileQueued` stops reading ahead of the commands (piped
 * and batch input); the prompt's interface keeps reading.
 */
function queuedLines(rl: Interface, pauseWhileQueued: boolean): { take(): string | null | undefined; wait(): Promise<string | null> } {
  const queue: string[] = [];
  let ended = false;
  let waiting: ((line: string | null) => void) | undefined;
  rl.on('line', (line) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else {
      queue.push(line);
      if (pauseWhileQueued) rl.pause();
    }
  });
  rl.on('close', () => {
    ended = true;
    waiting?.(null);
    waiting = undefined;
  });
  return {
    take: () => {
      const line = queue.shift();
      if (line !== undefined) {
        if (pauseWhileQueued && queue.length === 0) rl.resume();
        return line;
      }
      return ended ? null : undefined;
    },
    wait: () => {
      if (pauseWhileQueued) rl.resume();
      return new Promise((resolve) => (waiting = resolve));
    },
  };
}

/**
 * Lines of a stream, one at a time (null at the end). Read as bytes (one
 * latin1 character each, so readline still splits them), each line then
 * decoded with pathFromBytes: a batch line that names a file by bytes that
 * are not UTF-8 reaches that file, as with sftp.
 */
function lineReader(input: NodeJS.ReadableStream): { next(): Promise<string | null>; close(): void } {
  input.setEncoding('latin1');
  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
  const lines = queuedLines(rl, true);
  const decode = (line: string | null): string | null => (line === null ? null : pathFromBytes(Buffer.from(line, 'latin1')));
  return {
    next: () => {
      const line = lines.take();
      return line === undefined ? lines.wait().then(decode) : Promise.resolve(decode(line));
    },
    close: () => rl.close(),
  };
}

/** sftp -b: every line echoed; the first failure (not `-` prefixed) ends with status 1. */
async function runBatch(file: string, streams: SessionStreams, run: Runner, interrupt: () => boolean): Promise<number> {
  const input = file === '-' ? streams.stdin : createReadStream(fsPath(file));
  return runLines(input, run, interrupt, true);
}

/** Commands piped in without -b: echoed, failures do not stop them. */
async function runPiped(streams: SessionStreams, run: Runner, interrupt: () => boolean): Promise<number> {
  return runLines(streams.stdin, run, interrupt, false);
}

async function runLines(input: NodeJS.ReadableStream, run: Runner, interrupt: () => boolean, errAbort: boolean): Promise<number> {
  const reader = lineReader(input);
  // Ctrl-C between commands ends sftp with status 1, as its killchild does.
  const onSigint = (): void => {
    if (!interrupt()) {
      reader.close();
      process.exit(1);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      const line = await reader.next();
      if (line === null) return 0;
      const outcome = await run(line.slice(0, MAX_COMMAND_LINE - 1), errAbort, true);
      if (outcome === 'error') return 1;
      if (outcome === 'quit') return 0;
    }
  } finally {
    process.off('SIGINT', onSigint);
    reader.close();
  }
}

async function runInteractive(shell: SftpShell, streams: SessionStreams, run: Runner, interrupt: () => boolean, expose: (rl: Interface) => void): Promise<number> {
  // Typed or pasted bytes that are not UTF-8 reach the line escaped, as batch lines do.
  const input = new EscapedTerminalInput(streams.stdin as RawTerminal);
  const rl = createInterface({
    input: input as unknown as NodeJS.ReadableStream,
    output: streams.stdout,
    terminal: true,
    historySize: 100,
    removeHistoryDuplicates: false,
    prompt: 'sftp> ',
    tabSize: 8,
    completer: (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
      completeLine(line, {
        pwd: () => shell.pwd,
        remoteGlob: async (pattern) => (await glob(pattern, shell.remoteGlobFs, { mark: true, limit: 10_000 })).matches.map((m) => m.path),
        localGlob: async (pattern) => (await glob(pattern, nodeLocalOpsGlob, { mark: true, limit: 10_000 })).matches.map((m) => m.path),
      }).then(
        (r) => callback(null, r),
        () => callback(null, [[], line]),
      );
    },
  });
  // A paste at the end of the line may go to readline whole (terminal-input.ts).
  input.cursorAtEnd = () => rl.cursor === rl.line.length;
  // Such bytes shown as `\377` while the line is edited, as sftp shows names.
  showEscapedBytes(rl);
  expose(rl);
  // The terminal goes back to cooked mode on every way out, including signals.
  const restore = (): void => {
    try {
      streams.stdin.setRawMode?.(false);
    } catch {
      // not a terminal any more
    }
  };
  const onExit = (): void => restore();
  // SIGTERM and SIGHUP are the session's (runSftpSession); the terminal is
  // given back by the exit handler. A SIGINT sent by kill interrupts a
  // command as Ctrl-C does and is ignored at the prompt, as in sftp.
  const onSigint = (): void => void interrupt();
  process.on('exit', onExit);
  process.on('SIGINT', onSigint);
  const lines = queuedLines(rl, false);
  rl.on('SIGINT', () => {
    if (interrupt()) return;
    // At the prompt: the line is dropped and a fresh prompt drawn.
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    streams.stdout.write('\n');
    rl.prompt();
  });
  try {
    for (;;) {
      let line = lines.take();
      if (line === undefined) {
        // The cursor stays after what was typed ahead while the last command ran (prompt() would show it at the start).
        rl.prompt(true);
        line = await lines.wait();
      }
      if (line === null) {
        streams.stdout.write('\n');
        return 0;
      }
      const outcome = await run(line.slice(0, MAX_COMMAND_LINE - 1), false, false);
      if (outcome === 'quit') return 0;
    }
  } finally {
    rl.close();
    input.detach();
    restore();
    process.off('exit', onExit);
    process.off('SIGINT', onSigint);
  }
}

const nodeLocalOpsGlob = nodeLocalOps({ env: {} }).globFs;
