// A close we asked for is no error: `closed` resolves with null and the close
// events carry null; the other side sees the DisconnectError it was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DisconnectError, type NacreError } from '../../src/errors.js';
import type { ServerConnection } from '../../src/server/server.js';
import { startServer, passwordSecret } from './server-helpers.js';

test('client.close(): closed resolves with null and close gets null; the server sees the client disconnect', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  const serverSaw = new Promise<NacreError | null>((r) => t.server.once('disconnect', (_c, e) => r(e)));
  try {
    const c = await t.connect({ password: 'secret' });
    const closeEvent = new Promise<NacreError | null>((r) => c.once('close', r));
    await c.close();
    assert.equal(await c.closed, null);
    assert.equal(await closeEvent, null);
    assert.equal(c.node.endError, null);
    const e = await serverSaw;
    assert.ok(e instanceof DisconnectError && e.fromPeer, String(e));
    // Closing again changes nothing.
    await c.close();
    assert.equal(await c.closed, null);
  } finally {
    await t.close();
  }
});

test('ServerConnection.close(): its closed and the disconnect event get null; the client gets the DisconnectError', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  const conn = new Promise<ServerConnection>((r) => t.server.once('authenticated', (c) => r(c)));
  const serverSaw = new Promise<NacreError | null>((r) => t.server.once('disconnect', (_c, e) => r(e)));
  try {
    const c = await t.connect({ password: 'secret' });
    const clientClose = new Promise<NacreError | null>((r) => c.once('close', r));
    const sc = await conn;
    await sc.close();
    assert.equal(await sc.closed, null);
    assert.equal(await serverSaw, null);
    const why = await c.closed;
    assert.ok(why instanceof DisconnectError && why.fromPeer, String(why));
    assert.equal(await clientClose, why);
  } finally {
    await t.close();
  }
});
