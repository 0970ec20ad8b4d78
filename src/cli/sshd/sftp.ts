// nacred's internal-sftp: its log lines (as `sftp-server -l LEVEL` writes
// them, filtered by -l first) go into nacred's own log at their level.
import type { InternalSftpOptions, SftpLogLevel } from '../../index.js';
import type { SshdLog } from './log.js';

/** internal-sftp's options for runAsUser: its log into nacred's. */
export function internalSftpLog(log: SshdLog): InternalSftpOptions {
  return {
    log: (level: SftpLogLevel, message: string) => {
      if (level === 'error') log.error(message);
      else if (level === 'info') log.info(message);
      else if (level === 'verbose') log.verbose(message);
      else log.debug(1, message);
    },
  };
}
