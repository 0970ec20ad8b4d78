// What nacre's main flow takes from the process it runs in, as one value, so
// that tests run the whole command in process with fake terminals and
// environments. A file of its own so that main.ts and connection-flow.ts can
// both name it without importing each other.
import type { Prompter } from './prompter.js';
import type { SessionIo as InteractiveIo } from './interactive.js';
import type { SessionIo } from './session.js';

export interface NacreDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly localUser: string;
  readonly session: SessionIo;
  readonly prompter?: Prompter;
  /** The terminal side of command and shell sessions (interactive.ts); default the process's. */
  readonly interactive?: InteractiveIo;
}
