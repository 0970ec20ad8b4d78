// @lydell/node-pty for the tests that drive a program on a real
// pseudo-terminal, loaded if it can be on this machine (it is a native
// module), with the little of its API those tests use.
import { createRequire } from 'node:module';

export interface Pty {
  onData(cb: (d: string) => void): void;
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): void;
  write(d: string): void;
  kill(): void;
}

export interface PtyModule {
  spawn(file: string, args: string[], opts: object): Pty;
}

function load(): PtyModule | undefined {
  try {
    return createRequire(import.meta.url)('@lydell/node-pty') as PtyModule;
  } catch {
    return undefined;
  }
}

/** The module, or undefined where it cannot load. */
export const pty: PtyModule | undefined = load();

/** A test's `skip` for want of it: false when it loaded. */
export const ptySkipReason: string | false = pty ? false : '@lydell/node-pty cannot load here';
