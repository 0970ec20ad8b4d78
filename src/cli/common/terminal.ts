// Reading a passphrase as OpenSSH's read_passphrase does: from the
// controlling terminal (/dev/tty) with echo off, or, when there is no
// terminal, a line from standard input. The terminal is put back on every
// way out: the answer, end of input, an error, Ctrl-C (then the process is
// interrupted as it would have been) and SIGINT/SIGTERM/SIGHUP from outside.
import { openSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { CliExit } from './exit.js';
import { readLineFromFd } from './stdin-line.js';
import { PassphraseEditor } from './line-editor.js';

const RESTORING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function openTerminal(): number | undefined {
  try {
    return openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
}

export async function readPassphrase(prompt: string): Promise<string> {
  const fd = openTerminal();
  if (fd === undefined) {
    process.stderr.write(prompt);
    const line = readLineFromFd(0);
    if (line === null) throw new CliExit(255, 'read_passphrase: no terminal and no input');
    return line;
  }
  return readPassphraseFromTerminal(fd, prompt);
}

/** Reads from the terminal open on `fd` (closed afterwards) with echo off. */
export function readPassphraseFromTerminal(fd: number, prompt: string): Promise<string> {
  const input = new ReadStream(fd);
  const editor = new PassphraseEditor();
  let restored = false;
  // Puts the terminal back and ends the line the prompt was on (echo was off,
  // so Enter showed nothing). The stream owns `fd` and closes it.
  const restore = (): void => {
    if (restored) return;
    restored = true;
    try {
      input.setRawMode(false);
      writeSync(fd, '\n');
    } catch {
      // The terminal went away; nothing left to restore.
    }
    process.removeListener('exit', restore);
    for (const s of RESTORING_SIGNALS) process.removeListener(s, onSignal);
    input.pause();
    input.destroy();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    restore();
    process.kill(process.pid, signal);
  };
  process.once('exit', restore);
  for (const s of RESTORING_SIGNALS) process.once(s, onSignal);
  // Echo goes off before the prompt shows, so nothing typed after it is echoed.
  input.setRawMode(true);
  writeSync(fd, prompt);
  return new Promise<string>((resolve, reject) => {
    const finish = (fn: () => void): void => {
      restore();
      fn();
    };
    input.on('error', (err) => finish(() => reject(err)));
    input.on('data', (chunk: Buffer) => {
      const r = editor.feed(chunk.toString('utf8'));
      if (r.state === 'done') finish(() => resolve(r.value));
      else if (r.state === 'eof') finish(() => reject(new CliExit(255, 'read_passphrase: end of input')));
      else if (r.state === 'interrupted') {
        finish(() => {
          // As if the terminal had sent SIGINT: die of it, with the terminal restored.
          process.kill(process.pid, 'SIGINT');
        });
      }
    });
  });
}
