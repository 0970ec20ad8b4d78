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
 * argv_split(): words separated by blanks, `'...'` taken literally, `"..."`
 * and unquoted text with `\` escaping the next character. Null for an
 * unterminated quote.
 */
export function splitCommandLine(text: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (c === '\\' && i + 1 < text.length && (quote === null || text[i + 1] === '"' || text[i + 1] === '\\')) {
      word += text[++i]!;
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else word += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      continue;
    }
    word += c;
    inWord = true;
  }
  if (quote !== null) return null;
  if (inWord) words.push(word);
  return words;
}
