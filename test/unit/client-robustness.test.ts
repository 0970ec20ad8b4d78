// The client library when the server or the network misbehaves: nothing may
// throw into the user's process, and no promise of the public API may stay
// pending once its connection is gone. (An uncaught exception or unhandled
// rejection fails the test that caused it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, passwordSecret, delay } from './server-helpers.js';

test("the server's output and CLOSE in one read: ending stdin, resizing, signalling or writing from a 'data' handler is harmless", async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        setTimeout(() => {
          ch.write('ready\n');
          ch.exit(0);
        }, 20);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    for (let i = 0; i < 10; i++) {
      const p = await c.spawn('prompt');
      const requests: Promise<void>[] = [];
      p.stdout.on('data', () => {
        requests.push(p.resize(100, 40), p.signal('INT'));
        p.stdin.write('answer\n');
        p.stdin.end();
      });
      assert.deepEqual(await p.exit, { code: 0, signal: null });
      // Requests on a channel that is gone are dropped instead of rejecting.
      await Promise.all(requests);
      // Writing after the exit is dropped, not an 'error' event.
      p.stdin.write('late\n');
      await delay(10);
    }
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});
