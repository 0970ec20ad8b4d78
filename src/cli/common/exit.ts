// How a tool ends. OpenSSH's tools print `fatal()` messages on stderr and
// exit 255, print usage and exit 1 for bad flags, and otherwise exit with the
// operation's status; the tools here throw CliExit and let runTool print and
// exit, so every path out (including errors) goes through one place.

/** Ends the tool with `code`, printing `message` (when given) on stderr first. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** OpenSSH's fatal(): the message on stderr, exit status 255. */
export function fatal(message: string): never {
  throw new CliExit(255, message);
}

/** The error's own message, without a stack: what a user of the tool should read. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
