// A CliIo for running a tool in process: captured output, scripted answers
// to prompts and passphrases, given standard input, a fixed clock.
import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/common/io.js';

export interface FakeIo extends CliIo {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Prompts passed to readPassphrase, in order. */
  readonly passphrasePrompts: string[];
}

export function fakeIo(opts: { stdin?: Uint8Array | string; lines?: string[]; passphrases?: string[]; now?: Date } = {}): FakeIo {
  let out = '';
  let err = '';
  const lines = [...(opts.lines ?? [])];
  const passphrases = [...(opts.passphrases ?? [])];
  const passphrasePrompts: string[] = [];
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stdin: () => Readable.from([Buffer.from(opts.stdin ?? '')]),
    readLine: () => lines.shift() ?? null,
    readPassphrase: async (prompt) => {
      passphrasePrompts.push(prompt);
      const p = passphrases.shift();
      if (p === undefined) throw new Error(`unexpected passphrase prompt: ${prompt}`);
      return p;
    },
    now: () => opts.now ?? new Date(),
    stdout: () => out,
    stderr: () => err,
    passphrasePrompts,
  };
}
