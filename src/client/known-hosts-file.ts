// Changing the user's known_hosts file (accept-new) without ever leaving it
// half-written. The file work is src/io/node/files.ts's: the new content goes
// to a temporary file in the same directory, is synced, and replaces the old
// file by rename(2); on any error the user's file is as it was.
import { MAX_TRUST_FILE_BYTES, updateFileAtomic, type AtomicWriteSteps } from '../io/node/files.js';

/**
 * Rewrites the known_hosts file at `path` with `change(current)`, where
 * `current` is its text now ('' when absent). `change` returns the new text,
 * or null to leave the file alone; it may throw to refuse (that error is
 * passed on). A symbolic link is followed, so the file it names is replaced
 * and the link kept; an existing file keeps its permission bits, a new one
 * is 0600 in a directory made 0700. Failures to read or write are a
 * KeyFileError (`io`) naming the file. `steps` is for tests.
 */
export async function updateKnownHostsFile(path: string, change: (current: string) => string | null, steps?: Partial<AtomicWriteSteps>): Promise<void> {
  // ssh appends to /dev/null and the key is gone: a rename over it would replace the device.
  if (path === '/dev/null') return;
  updateFileAtomic(path, change, { what: 'known_hosts file', maxBytes: MAX_TRUST_FILE_BYTES, ...(steps ? { steps } : {}) });
}
