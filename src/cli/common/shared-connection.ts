// nacre-scp and nacre-sftp through a master, as scp and sftp get there: they
// run ssh with -oControlMaster=no, and ssh still joins a master listening at
// the host's ControlPath. A nacre master takes the `sftp` subsystem (or
// scp -O's command) over its socket; OpenSSH's passes sessions only as file
// descriptors, which Node cannot receive, so against it the tool connects
// itself (joinMaster says so under -v).
import { Duplex } from 'node:stream';
import type { ControlClient, SshConfig } from '../../mux-entry.js';
import type { SftpClient } from '../../sftp-entry.js';
import type { Logger } from './log.js';

/** The master at the ControlPath `config` names, when one listens there and takes sessions; null to connect directly. */
export async function joinControlMaster(config: SshConfig, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<ControlClient | null> {
  if (config.values.ControlPath === undefined) return null;
  const [{ controlSettings, joinMaster }, { expandConfigPath }] = await Promise.all([import('../ssh/control.js'), import('../../mux-entry.js')]);
  // As scp's and sftp's ssh: ControlMaster=no whatever the config says, which joins a master and never becomes one.
  const settings = controlSettings(config, (value) => expandConfigPath(value, 'ControlPath', config.tokens, env));
  return joinMaster({ ...settings, master: 'no' }, log);
}

/** The `sftp` subsystem through a master (its stderr, which sftp-server hardly writes, is dropped). */
export async function sftpThroughMaster(shared: ControlClient): Promise<SftpClient> {
  const { openSftp } = await import('../../sftp-entry.js');
  const p = await shared.subsystem('sftp');
  p.stderr.resume();
  return openSftp(Duplex.from({ readable: p.stdout, writable: p.stdin }));
}
