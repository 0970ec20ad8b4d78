// ssh-keygen's confirm_overwrite: "<file> already exists." and
// "Overwrite (y/n)? " on standard output, one line from standard input, and
// only an answer starting with y or Y overwrites (end of input says no).
import type { CliIo } from './io.js';

export function confirmOverwrite(io: CliIo, path: string, exists: (path: string) => boolean): boolean {
  if (!exists(path)) return true;
  io.out(`${path} already exists.\n`);
  io.out('Overwrite (y/n)? ');
  return askedYes(io.readLine());
}

/** True for an answer that starts with y or Y, as ssh-keygen reads it. */
export function askedYes(answer: string | null): boolean {
  return answer !== null && (answer.startsWith('y') || answer.startsWith('Y'));
}
