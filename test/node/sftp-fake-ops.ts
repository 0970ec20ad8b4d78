// A scripted SFTP server for one-file transfer tests: serves `file` to
// getFile through the client's internal SftpOps, a piece per READ on the
// next turn, EOF past its end.
import type { TransferContext } from '../../src/client/sftp/transfer.js';
import { NO_DATA_EOF } from '../../src/client/sftp/reader.js';
import type { ReadDone, SftpOps } from '../../src/client/sftp/ops.js';
import type { SftpHandle } from '../../src/client/sftp/api.js';

export function fakeOps(file: Uint8Array, mode = 0o100644): SftpOps {
  const ops = {
    maxRead: 65536,
    maxWrite: 65536,
    async open(path: string): Promise<SftpHandle> {
      return { handle: new Uint8Array([1]), path };
    },
    async close(): Promise<void> {},
    async fstat() {
      return { size: file.length, mode };
    },
    readInto(_h: SftpHandle, offset: number, length: number, done: ReadDone): void {
      setImmediate(() => {
        if (offset >= file.length) return done(NO_DATA_EOF, 0);
        const piece = file.subarray(offset, Math.min(offset + length, file.length));
        done([piece], piece.length);
      });
    },
  };
  return ops as unknown as SftpOps;
}

/** A transfer's context with 64 KiB requests, 16 in flight. */
export const fakeCtx = (): TransferContext => ({ o: {}, chunkSize: 65536, concurrency: 16, pacer: undefined, totalTransferred: 0, filesDone: 0, buffers: [] });
