// What sftp's commands share while they run: the connection's two sides,
// the session's options, the remote working directory, the running
// command's cancellation, output, and the helpers every command uses. The
// shell (commands.ts) is the one implementation; listing.ts and
// transfers.ts take it as their first argument.
import type { ProgressReporter } from '../common/progress.js';
import type { GlobMatch } from '../common/glob.js';
import type { LocalOps } from './local.js';
import type { RemoteAttrs, RemoteFs } from './remote.js';

export interface ShellOptions {
  /** sftp's `quiet` (-q, batch mode): no "Fetching ..." lines. */
  quiet: boolean;
  /** Whether the progress meter is on (the `progress` command toggles it). */
  progress: boolean;
  /** -a -p -r -f for every get and put. */
  resume: boolean;
  preserve: boolean;
  recursive: boolean;
  fsync: boolean;
  /** -R, -B, -l. */
  concurrency?: number;
  chunkSize?: number;
  bandwidthLimit?: number;
}

export interface ShellDeps {
  readonly remote: RemoteFs;
  readonly local: LocalOps;
  out(text: string): void;
  err(text: string): void;
  /** A progress bar for one transfer (a quiet one when output is not a terminal). */
  progressMeter(): ProgressReporter;
  /** Seconds since the epoch (ls's dates). */
  nowSeconds(): number;
  /** The terminal's width for short listings (80 when unknown). */
  columns(): number;
}

export interface CommandContext {
  readonly deps: ShellDeps;
  readonly options: ShellOptions;
  /** The remote working directory. */
  readonly pwd: string;
  /** The running command's cancellation (Ctrl-C), and whether it has come. */
  readonly signal: AbortSignal | undefined;
  readonly interrupted: boolean;
  /** Set when the connection is found gone: the session ends. */
  connectionLost: boolean;
  out(text: string): void;
  /** An error line (the newline is added). */
  error(text: string): void;
  /** sftp's words for a failed request (noting a lost connection). */
  reason(err: unknown): string;
  /** A remote glob; 'too-many' past the cap. */
  remoteGlob(pattern: string, options: { mark?: boolean; nocheck?: boolean; nosort?: boolean; brace?: boolean }): Promise<{ matches: GlobMatch[]; matched: number } | 'too-many'>;
  /** A whole remote directory, `.` and `..` included. */
  readDirectory(path: string): Promise<{ filename: string; longname: string; attrs: RemoteAttrs }[]>;
}
