// serveSftp stops taking requests while the channel's output is backed up
// (see sftprev-read-flood-one-chunk.test.ts for the bound). Here: requests
// held back that way, sent just before the client ends its input, are all
// answered, in order, once the client reads (none dropped by the session
// ending at EOF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { FxpInit, decodeResponse, encodeRequest, frame, FXF, SftpFramer } from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { serveSftp } from '../../src/server/sftp/serve.js';
import { DEFAULT_MAX_READ } from '../../src/sftp/constants.js';

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('input ended while requests wait for the output to drain: every one is answered once the client reads', async () => {
  const mem = new MemoryFileSystem();
  mem.writeFile('/big', new Uint8Array(256 * 1024).fill(7));
  const toServer = new PassThrough();
  const toClient = new PassThrough({ highWaterMark: 16 * 1024 });
  const server = Duplex.from({ readable: toServer, writable: toClient });
  const serving = serveSftp(server, { fileSystem: mem });
  const framer = new SftpFramer(1 << 20);
  const got: Uint8Array[] = [];
  const onData = (d: Buffer) => {
    framer.push(d);
    for (let p = framer.next(); p; p = framer.next()) got.push(p);
  };
  toClient.on('data', onData);
  toServer.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  toServer.write(frame(encodeRequest({ type: 'open', id: 1, path: '/big', pflags: FXF.READ, attrs: {} })));
  for (let i = 0; i < 100 && got.length < 2; i++) await tick(5);
  toClient.off('data', onData);
  toClient.pause();
  const handle = (decodeResponse(got[1]!) as { handle: Uint8Array }).handle;
  const n = 300;
  const reads: Uint8Array[] = [];
  for (let i = 0; i < n; i++) reads.push(frame(encodeRequest({ type: 'read', id: 10 + i, handle, offset: 0, length: 256 * 1024 })));
  toServer.end(Buffer.concat(reads));
  await tick(300);
  const heldBefore = toClient.readableLength + server.writableLength;
  assert.ok(heldBefore < n * 256 * 1024, 'not all replies were made while the client read nothing');
  got.length = 0;
  toClient.on('data', onData);
  toClient.resume();
  await serving.done;
  for (let i = 0; i < 200 && got.length < n; i++) await tick(10);
  const ids = got.map((p) => decodeResponse(p)).map((r) => (r as { id: number; type: string; data?: Uint8Array }));
  assert.equal(ids.length, n);
  assert.deepEqual(ids.map((r) => r.id), Array.from({ length: n }, (_, i) => 10 + i));
  for (const r of ids) assert.equal(`${r.type} ${r.data?.length}`, `data ${DEFAULT_MAX_READ}`);
});
