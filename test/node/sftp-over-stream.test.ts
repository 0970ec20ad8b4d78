// openSftp(stream): the SFTP client over a plain byte stream, here a
// loopback socket to the library's own server (serveSftp over a
// MemoryFileSystem): files both ways, end() closing the stream (also when
// the server would keep its side open), a peer that is not an SFTP server,
// an abort while waiting for VERSION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSftp, MemoryFileSystem, ProtocolError, SftpError, FX } from '../../src/index.js';
import { serveSftp } from '../../src/server/index.js';

/** A loopback server whose every connection is handed to `serve`; resolves with a connected client socket. */
async function pair(serve: (socket: Socket) => void, allowHalfOpen = false): Promise<{ client: Socket; server: Server }> {
  const server = createServer({ allowHalfOpen }, serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  return { client, server };
}

test('openSftp over a socket to serveSftp: put, get, stat, a missing file, end()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-over-stream-'));
  const fileSystem = new MemoryFileSystem({ now: Date.now, startDirectory: '/' });
  let done: Promise<void> | undefined;
  const { client, server } = await pair((socket) => {
    done = serveSftp(socket, { fileSystem }).done;
  });
  try {
    const sftp = await openSftp(client);
    assert.equal(sftp.version, 3);
    const data = randomBytes(300_001);
    writeFileSync(join(dir, 'src'), data);
    await sftp.put(join(dir, 'src'), '/up.bin');
    assert.equal((await sftp.stat('/up.bin')).size, data.length);
    await sftp.get('/up.bin', join(dir, 'back'));
    assert.ok(readFileSync(join(dir, 'back')).equals(data));
    await assert.rejects(sftp.stat('/missing'), (err: unknown) => err instanceof SftpError && err.code === FX.NO_SUCH_FILE);
    await sftp.end();
    assert.ok(client.destroyed || client.closed);
    await done;
    // After end(), requests fail at once.
    await assert.rejects(sftp.stat('/up.bin'), SftpError);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('end() closes the stream even when the server would keep its side open', async () => {
  const held: Socket[] = [];
  // A minimal server: VERSION 3 (no extensions) for INIT, and it never ends its side.
  const { client, server } = await pair((socket) => {
    held.push(socket);
    socket.once('data', () => socket.write(Buffer.from([0, 0, 0, 5, 2, 0, 0, 0, 3])));
  }, true);
  try {
    const sftp = await openSftp(client);
    assert.equal(sftp.version, 3);
    assert.deepEqual([...sftp.extensions.keys()], []);
    await sftp.end();
    assert.ok(client.destroyed);
    await sftp.end();
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

test('a peer that is not an SFTP server fails the open with a ProtocolError; an abort gives up waiting', async () => {
  const garbage = await pair((socket) => socket.end(Buffer.from([0, 0, 0, 5, 42, 0, 0, 0, 3])));
  try {
    await assert.rejects(openSftp(garbage.client), ProtocolError);
  } finally {
    garbage.server.close();
  }
  const silentSockets: Socket[] = [];
  const silent = await pair((socket) => silentSockets.push(socket));
  try {
    const controller = new AbortController();
    const opening = openSftp(silent.client, { signal: controller.signal });
    controller.abort();
    await assert.rejects(opening, /aborted/);
    assert.ok(silent.client.destroyed);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(openSftp(connect(1, '127.0.0.1').on('error', () => undefined), { signal: aborted.signal }), /aborted/);
  } finally {
    for (const s of silentSockets) s.destroy();
    silent.server.close();
  }
  // A stream that simply ends before VERSION.
  const ending = await pair((socket) => socket.end());
  try {
    await assert.rejects(openSftp(ending.client), (err: unknown) => err instanceof SftpError && err.code === FX.CONNECTION_LOST);
  } finally {
    ending.server.close();
  }
});
