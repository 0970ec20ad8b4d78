// Which known_hosts files a connection consults, as ssh's UserKnownHostsFile
// (several; the first is the one written) and GlobalKnownHostsFile (read,
// never written), read once before any socket exists.
import { readKnownHosts, type ConnectOptions } from './options.js';

/** A known_hosts file as read: its path and text ('' when it does not exist). */
export interface KnownHostsText {
  readonly path: string;
  readonly text: string;
}

export interface KnownHostsSources {
  /** The user's files (`knownHosts`), in order; the first is where keys are added. */
  readonly user: readonly KnownHostsText[];
  /** The system-wide files (`globalKnownHosts`), consulted after the user's. */
  readonly global: readonly KnownHostsText[];
}

/** ssh's GlobalKnownHostsFile default, applied when options come from ssh_config. */
export const DEFAULT_GLOBAL_KNOWN_HOSTS: readonly string[] = Object.freeze(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);

function list(option: string | readonly string[] | false | undefined, fallback: readonly string[]): readonly string[] {
  if (option === false) return [];
  if (option === undefined) return fallback;
  return typeof option === 'string' ? [option] : option;
}

function read(paths: readonly string[]): KnownHostsText[] {
  return paths.map((p) => readKnownHosts(p)).filter((f): f is KnownHostsText => f !== null);
}

/**
 * Reads the files `options` names: `knownHosts` (default
 * `~/.ssh/known_hosts`; false for none) and `globalKnownHosts` (default
 * none, or ssh's two system files when `config` is set). A missing file reads
 * as empty; one that cannot be read is a KeyFileError.
 */
export function readKnownHostsSources(options: Pick<ConnectOptions, 'knownHosts' | 'globalKnownHosts' | 'config'>): KnownHostsSources {
  const user = list(options.knownHosts, ['~/.ssh/known_hosts']);
  const global = list(options.globalKnownHosts, options.config !== undefined && options.config !== false ? DEFAULT_GLOBAL_KNOWN_HOSTS : []);
  return { user: read(user), global: read(global) };
}
