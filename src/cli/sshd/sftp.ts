// nacred's internal-sftp: its log lines (as `sftp-server -l LEVEL` writes
// them, filtered by -l first) go into nacred's own log at their level; and
// npm start's sftp subsystem.
import { NodeFileSystem, sftpSubsystem, type InternalSftpOptions, type ServerChannel, type SftpLogLevel } from '../../index.js';
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

/**
 * npm start's `sftp` subsystem: Nacre's SFTP server in this process, as the
 * current user, starting in `home` (what `Subsystem sftp internal-sftp`
 * does in nacred); its errors in the server's log.
 */
export function personalSftp(home: string, log: SshdLog): (name: string, channel: ServerChannel) => boolean {
  return sftpSubsystem({
    fileSystem: new NodeFileSystem({ startDirectory: home }),
    log: (level, message) => {
      if (level === 'error') log.error(`sftp: ${message}`);
    },
  });
}
