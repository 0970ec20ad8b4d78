// What a tool touches outside itself, as one object, so tests run a tool in
// process with captured output, scripted answers and a fixed clock, and the
// real program gets the process's streams and terminal (processIo).
import { userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { CliExit, describeError } from './exit.js';
import { readLineFromFd } from './stdin-line.js';
import { readPassphrase } from './terminal.js';

export interface CliIo {
  /** Standard output and error; text is written as given (add the newline). */
  out(text: string): void;
  err(text: string): void;
  /** Standard input as a stream, for data to sign or verify. */
  stdin(): Readable;
  /** One line from standard input (without its newline), or null at end of input: answers to `Overwrite (y/n)?`. */
  readLine(): string | null;
  /** Asks on the terminal with echo off (standard input when there is no terminal). */
  readPassphrase(prompt: string): Promise<string>;
  now(): Date;
}

export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdin: () => process.stdin,
    readLine: () => readLineFromFd(0),
    readPassphrase,
    now: () => new Date(),
  };
}

/**
 * Runs a tool's main and exits with its status: CliExit's message and code,
 * any other error's message with 255 (as OpenSSH's fatal). Output is flushed
 * before the process ends because the exit code is set, not forced.
 */
export async function runTool(main: (args: readonly string[], io: CliIo) => Promise<number>, io: CliIo = processIo()): Promise<void> {
  process.exitCode = await runMain(main, process.argv.slice(2), io);
}

/** main's status, with errors printed on `io.err` as runTool does; for tests. */
export async function runMain(main: (args: readonly string[], io: CliIo) => Promise<number>, args: readonly string[], io: CliIo): Promise<number> {
  try {
    return await main(args, io);
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) io.err(err.message.endsWith('\n') ? err.message : err.message + '\n');
      return err.code;
    }
    io.err(describeError(err) + '\n');
    return 255;
  }
}

/** Who runs the tool (ssh's %u and default user); USER when the account has no passwd entry. */
export function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/**
 * Ends the process with `code` once stdout and stderr are flushed: open
 * handles (a paused stdin, a terminal) must not keep a finished tool alive.
 */
export function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
