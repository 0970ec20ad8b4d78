// SFTP over a program's standard input and output, for nacre-sftp and
// nacre-scp's `-D` (a local sftp-server, no SSH at all) and `-S` (another
// ssh program, run with the arguments sftp and scp give ssh): the program
// is started with its standard error on ours, and the library's openSftp()
// speaks SFTP over the pipes. Also argv_split(), as sftp splits -D's command.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import type { SftpClient } from '../../client-entry.js';

export interface ProgramSftp {
  readonly sftp: SftpClient;
  /** Ends the SFTP session (the program's standard input) and waits for the program; its exit status (null: killed). */
  close(): Promise<number | null>;
}

/** A program started with its standard input and output ours to use. */
export interface ProgramProcess {
  readonly child: ChildProcess;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves when it has exited: its status, or its signal. */
  readonly exit: Promise<{ code: number | null; signal: string | null }>;
  /** Set when it could not be started (ENOENT ...). */
  readonly startError: () => Error | undefined;
}

/** Starts `program` with `args` (found on PATH as execvp finds it); standard error is ours unless `stderr` is 'pipe'. */
export function startProgram(program: string, args: readonly string[], options: { readonly stderr?: 'inherit' | 'pipe'; readonly argv0?: string } = {}): ProgramProcess {
  const child = spawn(program, [...args], { stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'], ...(options.argv0 !== undefined ? { argv0: options.argv0 } : {}) });
  let startError: Error | undefined;
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', (err) => {
      startError = err;
      resolve({ code: 1, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A program that exits early breaks its pipes: the SFTP session reports the loss.
  child.stdin!.on('error', () => undefined);
  return { child, stdin: child.stdin!, stdout: child.stdout!, exit, startError: () => startError };
}

/**
 * SFTP with `program`: resolves once the server's VERSION arrived; rejects
 * (with the program already gone or killed) when it never does.
 */
export async function sftpOverProgram(program: string, args: readonly string[], options: { readonly argv0?: string } = {}): Promise<ProgramSftp & { readonly process: ProgramProcess }> {
  const { openSftp } = await import('../../sftp-entry.js');
  const proc = startProgram(program, args, options);
  let sftp: SftpClient;
  try {
    sftp = await openSftp(Duplex.from({ readable: proc.stdout, writable: proc.stdin }));
  } catch (err) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
    await proc.exit;
    throw proc.startError() ?? err;
  }
  return {
    sftp,
    process: proc,
    async close() {
      await sftp.end().catch(() => undefined);
      const { code } = await proc.exit;
      return code;
    },
  };
}

/**
 * argv_split() as OpenSSH has it: words separated by spaces and tabs; `'...'`
 * and `"..."` quote (a quote of the other kind inside is plain); a backslash
 * escapes a quote of either kind, a backslash, or (outside quotes) a space,
 * and is kept as it is before anything else. Null for an unterminated quote.
 */
export function splitCommandLine(text: string): string[] | null {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    let word = '';
    let quote: '"' | "'" | null = null;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === "'" || next === '"' || next === '\\' || (quote === null && next === ' ')) i++;
        word += text[i]!;
      } else if (quote === null && (c === ' ' || c === '\t')) break;
      else if (quote === null && (c === '"' || c === "'")) quote = c;
      else if (quote !== null && c === quote) quote = null;
      else word += c;
    }
    if (quote !== null) return null;
    words.push(word);
  }
  return words;
}
