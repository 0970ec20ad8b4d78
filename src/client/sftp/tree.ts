// get and put: files and trees.
import { NacreError, DisconnectReason } from '../../errors.js';
import type { TransferOptions } from './api.js';
import type { NodeSftpClient } from './client.js';

export function getPath(_c: NodeSftpClient, _remote: string, _local: string, _o: TransferOptions): Promise<void> {
  return Promise.reject(new NacreError('sftp get is not implemented yet', DisconnectReason.BY_APPLICATION));
}
export function putPath(_c: NodeSftpClient, _local: string, _remote: string, _o: TransferOptions): Promise<void> {
  return Promise.reject(new NacreError('sftp put is not implemented yet', DisconnectReason.BY_APPLICATION));
}
