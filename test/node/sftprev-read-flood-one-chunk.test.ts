// Review reproduction (issue 13): serveSftp bounds its output only between
// input chunks. The session's pump() goes on taking packets already in its
// framer whenever a reply goes out (settled() -> pump()), without asking
// whether the channel's output is backed up; so one chunk holding thousands
// of 29-byte READs of 256 KiB makes thousands of 256 KiB replies pile up in
// the channel's write buffer (about 9,000x the input). nacre-sftp-server
// (which nacred as root runs for every user) reached 647 MB RSS from 256 KiB
// of requests whose replies the client never read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { FxpInit, decodeResponse, encodeRequest, frame, FXF, SftpFramer } from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { serveSftp } from '../../src/server/sftp/serve.js';

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('READs arriving in one chunk, replies never read: the output held stays bounded', async () => {
  const mem = new MemoryFileSystem();
  mem.writeFile('/big', new Uint8Array(256 * 1024));
  const toServer = new PassThrough();
  const toClient = new PassThrough({ highWaterMark: 16 * 1024 });
  const server = Duplex.from({ readable: toServer, writable: toClient });
  const serving = serveSftp(server, { fileSystem: mem });
  toServer.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  toServer.write(frame(encodeRequest({ type: 'open', id: 1, path: '/big', pflags: FXF.READ, attrs: {} })));
  // read the VERSION and HANDLE replies only
  const framer = new SftpFramer(1 << 20);
  const got: Uint8Array[] = [];
  const onData = (d: Buffer) => {
    framer.push(d);
    for (let p = framer.next(); p; p = framer.next()) got.push(p);
  };
  toClient.on('data', onData);
  for (let i = 0; i < 100 && got.length < 2; i++) await tick(5);
  toClient.off('data', onData);
  toClient.pause();
  const handle = (decodeResponse(got[1]!) as { handle: Uint8Array }).handle;
  // 2,000 READs in one chunk: 58 KB of input
  const reads: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) reads.push(frame(encodeRequest({ type: 'read', id: 10 + i, handle, offset: 0, length: 256 * 1024 })));
  toServer.write(Buffer.concat(reads));
  await tick(1000);
  const held = toClient.readableLength + server.writableLength;
  // the default cap of held bytes is 16 MiB; allow twice that
  assert.ok(held < 32 * 1024 * 1024, `output held for a client that reads nothing: ${(held / 1048576).toFixed(0)} MiB`);
  serving.close();
  server.destroy();
  await serving.done;
});
