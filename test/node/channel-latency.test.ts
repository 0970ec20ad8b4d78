// Interactive data is never held back on a timer: a single small write (a
// keystroke, its echo) leaves by the end of the event loop's turn, and a
// keystroke through a server's program comes back with setTimeout and
// setInterval frozen (node:test's mock timers), so no timer can be on its way.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { nodeChannel } from './node-channel.js';
import { ChannelData } from '../../src/messages/connection.js';
import { ConnPair, openPair } from '../core/connection-helpers.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { preparePipes } from '../../src/io/node/fifo-pipes.js';
import { startServer, passwordSecret } from './server-helpers.js';

test('one small write leaves by the end of the turn, with no timer running', async () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair, pair.a);
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  try {
    for (const key of ['k', 'e', 'y']) {
      ch.write(Buffer.from(key));
      await nextTurn();
      const sent = pair.a.outbox.splice(0).map((p) => Buffer.from(ChannelData.decode(p).data).toString());
      assert.deepEqual(sent, [key]);
    }
  } finally {
    mock.timers.reset();
  }
});

test('a keystroke through a program on the server comes back with timers frozen', { timeout: 30_000 }, async () => {
  await preparePipes();
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const p = await c.spawn('cat');
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    try {
      for (const key of ['a', 'b', 'c']) {
        const echo = new Promise<string>((resolve) => p.stdout.once('data', (d: Buffer) => resolve(d.toString())));
        p.stdin.write(key);
        assert.equal(await echo, key);
      }
    } finally {
      mock.timers.reset();
    }
    p.stdin.end();
    assert.equal((await p.exit).code, 0);
  } finally {
    await t.close();
  }
});
