// nacre-scp's main flow: the command line (args.ts), then the copies
// (copy.ts) over connections made as nacre makes them (connect.ts), with
// the progress bar on standard output when it is a terminal. Local-to-local
// copies run cp(1), and `-R` runs scp on the origin host through nacre, as
// scp runs them through ssh.
import { spawn } from 'node:child_process';
import { hasEscapedBytes, showPath } from '../../sftp-entry.js';
import { shellCommandText, shellQuote } from '../common/shell-bytes.js';
import { CliExit } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { createProgressMeter, type ProgressReporter, type ProgressStream } from '../common/progress.js';
import type { Prompter } from '../ssh/prompter.js';
import { parseScpArgs, type ScpArgs } from './args.js';
import { Connections } from './connect.js';
import { ProgramConnections, runProgram, type ScpConnections } from './program-connect.js';
import { ScpRun, type Endpoint } from './copy.js';

export interface ScpDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly localUser: string;
  /** Where the progress bar goes (default standard output); drawn only on a terminal. */
  readonly progressStream?: ProgressStream;
  readonly progress?: ProgressReporter;
  readonly prompter?: Prompter;
  /** Runs nacre (ssh) with these arguments for -R; its exit status. Default: nacre's main in this process. */
  readonly runNacre?: (args: readonly string[]) => Promise<number>;
}

/** _PATH_CP */
const CP = 'cp';

function runLocalCopy(args: readonly string[], verbose: boolean, io: CliIo): Promise<number> {
  // As OpenSSH 10's scp shows it under -v: the program, then each argument in single quotes (a quote inside left as it is).
  if (verbose) io.err(showPath(`Executing: ${[CP, ...args.map((a) => `'${a}'`)].join(' ')}\n`));
  // Names that are not UTF-8 cannot be spawn() arguments: such a copy goes through sh, which gets the bytes.
  const bytes = args.some(hasEscapedBytes);
  return new Promise((resolve) => {
    const child = bytes ? spawn('/bin/sh', ['-c', shellCommandText(`exec ${[CP, ...args].map(shellQuote).join(' ')}`)], { stdio: 'inherit' }) : spawn(CP, [...args], { stdio: 'inherit' });
    child.on('error', (err) => {
      io.err(`scp: ${CP}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** scp's argument list for ssh to the origin host of `-R`. */
export function originArgs(args: ScpArgs, origin: Endpoint, command: string): string[] {
  return [
    '-oClearAllForwardings=yes',
    '-n',
    ...args.remoteRemoteArgs,
    ...(origin.port !== undefined ? ['-p', String(origin.port)] : []),
    ...(origin.user !== undefined ? ['-l', origin.user] : []),
    '--',
    origin.host,
    command,
  ];
}

async function runNacreInProcess(args: readonly string[], io: CliIo, deps: ScpDeps): Promise<number> {
  const { nacreMain } = await import('../ssh/main.js');
  const { runMain } = await import('../common/io.js');
  return runMain(
    (a, i) =>
      nacreMain(a, i, {
        env: deps.env,
        localUser: deps.localUser,
        session: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, stdinIsTty: false },
      }),
    args,
    io,
  );
}

function nacreConnections(args: ScpArgs, io: CliIo, deps: ScpDeps): Connections {
  return new Connections(args, { env: deps.env, localUser: deps.localUser, err: (t) => io.err(t), ...(deps.prompter ? { prompter: deps.prompter } : {}) });
}

/** Runs nacre-scp with `args` (without the program name); the exit status. */
export async function scpMain(argv: readonly string[], io: CliIo, deps: ScpDeps): Promise<number> {
  const args = parseScpArgs(argv);
  // -D (a local sftp server) and -S (another ssh program) connect through a program of the user's instead of Nacre.
  const connections: ScpConnections =
    args.sftpDirect !== undefined || args.sshProgram !== undefined
      ? new ProgramConnections(args, (t) => io.err(t), () => nacreConnections(args, io, deps))
      : nacreConnections(args, io, deps);
  // SIGINT, SIGTERM, SIGHUP: scp's killchild ends it with status 1, its
  // partial file left under its own name. The SFTP transfers under way are
  // aborted and settle first (what arrived is kept by keepPartial, not left
  // as a hidden temporary); with none under way, or once they settled (or
  // after SETTLE_MS), the exit. Nothing more is said: scp says nothing.
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) return;
    stop.abort();
    if (run.transfers === 0) process.exit(1);
    setTimeout(() => process.exit(1), SETTLE_MS).unref();
  };
  const run = new ScpRun(args, {
    connect: (endpoint) => connections.sftp(endpoint),
    localCopy: (cpArgs) => runLocalCopy(cpArgs, args.verbose > 0, io),
    remoteCommand: (origin, command) => {
      const nacreArgs = originArgs(args, origin, command);
      if (args.sshProgram !== undefined) return runProgram(args.sshProgram, nacreArgs, io);
      return deps.runNacre ? deps.runNacre(nacreArgs) : runNacreInProcess(nacreArgs, io, deps);
    },
    spawn: (endpoint, command) => connections.spawn(endpoint, command),
    // Names whose bytes are not UTF-8 shown as scp shows them (x\377).
    error: (line) => {
      if (!stop.signal.aborted) io.err(showPath(line) + '\n');
    },
    signal: stop.signal,
    stderr: (text) => io.err(text),
    debug: (level, message) => {
      if (args.verbose >= level) io.err(showPath(`debug${level}: ${message}\n`));
    },
    progress: deps.progress ?? createProgressMeter({ quiet: args.quiet, ...(deps.progressStream ? { stream: deps.progressStream } : {}) }),
  });
  for (const sig of ENDING_SIGNALS) process.on(sig, onSignal);
  try {
    const status = await run.run();
    return stop.signal.aborted ? 1 : status;
  } catch (err) {
    if (stop.signal.aborted) return 1;
    // A fatal message naming bytes that are not UTF-8 shows them as scp does (x\377), as the other messages.
    if (err instanceof CliExit && hasEscapedBytes(err.message)) throw new CliExit(err.code, showPath(err.message));
    throw err;
  } finally {
    for (const sig of ENDING_SIGNALS) process.off(sig, onSignal);
    await connections.closeAll();
  }
}

const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How long transfers aborted by a signal may take to settle before the exit. */
const SETTLE_MS = 3000;
