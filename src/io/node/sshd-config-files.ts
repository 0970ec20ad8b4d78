// What the pure sshd_config parser (src/config) needs from Node: reading
// the main file and Include'd ones (bounded), and Include's glob.
import { SshdConfigError, parseSshdConfig, type SshdConfig, type SshdConfigIO, type SshdParseOptions } from '../../config/index.js';
import { isMissingFile, readBounded } from './files.js';
import { globPaths } from './ssh-config-files.js';

/** Far past any real sshd_config; bounds what a file can take. */
const MAX_CONFIG_BYTES = 4 << 20;

function readSshdFile(path: string): string | null {
  try {
    return readBounded(path, MAX_CONFIG_BYTES, 'sshd_config file').toString('utf8');
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw new SshdConfigError(`cannot read: ${(err as Error).message}`, { file: path }, { cause: err });
  }
}

/** The Node side of the sshd_config parser: this machine's files. */
export function nodeSshdConfigIO(): SshdConfigIO {
  return { readFile: readSshdFile, glob: globPaths };
}

/**
 * Reads and parses an sshd_config file and its includes. A missing file is
 * an SshdConfigError ("No such file or directory"), as it stops sshd.
 */
export function readSshdConfig(file: string, options: SshdParseOptions = {}): SshdConfig {
  const io = nodeSshdConfigIO();
  const text = io.readFile(file);
  if (text === null) throw new SshdConfigError('No such file or directory', { file });
  return parseSshdConfig(text, file, io, { cwd: process.cwd(), ...options });
}
