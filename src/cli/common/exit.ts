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

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ELOOP: 'Too many levels of symbolic links',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EXDEV: 'Invalid cross-device link',
};

/** The errno code of an error or of any error in its cause chain (the file helpers wrap Node's). */
export function errnoCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return code;
  }
  return undefined;
}

/** What C's strerror would say for the error, as OpenSSH's messages end; else the error's message. */
export function strerror(err: unknown): string {
  const code = errnoCode(err);
  return (code && STRERROR[code]) ?? describeError(err);
}
