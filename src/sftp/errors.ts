// The error an SFTP operation rejects with: the server's STATUS (code and
// message), with the operation and path it was for. A malformed packet is a
// ProtocolError (src/errors.ts), not this.
import { DisconnectReason, NacreError } from '../errors.js';
import { FX, STATUS_TEXT } from './constants.js';

export class SftpError extends NacreError {
  /** The STATUS code (`FX`), or FX.CONNECTION_LOST / FX.NO_CONNECTION when the channel went away. */
  readonly code: number;
  /** The server's own message, when it sent one. */
  readonly serverMessage: string;
  /** What was asked (`open`, `stat` ...) and the path(s), for the message. */
  readonly operation: string;
  readonly path: string | undefined;
  constructor(code: number, serverMessage: string, operation: string, path?: string, options?: { cause?: unknown }) {
    const words = serverMessage || STATUS_TEXT[code] || `status ${code}`;
    super(`${operation}${path === undefined ? '' : ` ${JSON.stringify(path)}`}: ${words}`, DisconnectReason.BY_APPLICATION, options);
    this.code = code;
    this.serverMessage = serverMessage;
    this.operation = operation;
    this.path = path;
  }
  /** The file or directory does not exist (FX.NO_SUCH_FILE). */
  get notFound(): boolean {
    return this.code === FX.NO_SUCH_FILE;
  }
  get permissionDenied(): boolean {
    return this.code === FX.PERMISSION_DENIED;
  }
}
