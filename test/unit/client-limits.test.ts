// The client against servers that try to exhaust it: endless output (exec's
// maxBuffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as bufferConstants } from 'node:buffer';
import { MaxBufferError } from '../../src/client/process.js';
import { startServer, passwordSecret, delay } from './server-helpers.js';

/** Resolves once `check` holds, or fails after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await delay(10)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

test('exec: endless output rejects with MaxBufferError once past maxBuffer, and the channel is closed', async () => {
  const MiB = 1024 * 1024;
  let written = 0;
  let serverSawClose = 0;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (cmd, ch) => {
        const chunk = Buffer.alloc(64 * 1024, cmd === 'yes-stderr' ? 0x65 : 0x6f);
        const out = cmd === 'yes-stderr' ? ch.stderr : ch;
        ch.once('channel-close', () => serverSawClose++);
        // Writes as fast as the client's window allows, forever.
        const pump = () => {
          while (!ch.closedByPeer) {
            written += chunk.length;
            if (!out.write(chunk)) return void out.once('drain', pump);
          }
        };
        pump();
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret', maxBuffer: 2 * MiB });
    await assert.rejects(c.exec('yes'), (e: unknown) => {
      assert.ok(e instanceof MaxBufferError, String(e));
      assert.equal(e.stream, 'stdout');
      assert.equal(e.limit, 2 * MiB);
      assert.equal(typeof e.stdout, 'string');
      assert.equal(e.stdout.length, 2 * MiB); // the partial output, cut at the limit
      assert.equal(e.stdout, 'o'.repeat(2 * MiB));
      return true;
    });
    await eventually(() => serverSawClose === 1, 'the server to see the channel closed');
    const afterFirst = written;
    // The server stopped: what it wrote is the limit plus what was in flight (window, socket buffers).
    assert.ok(afterFirst < 2 * MiB + 8 * MiB, `server wrote ${afterFirst} bytes`);
    assert.equal(c.node.channels.size, 0);

    // Per call, on stderr, as Buffers.
    await assert.rejects(c.exec('yes-stderr', { maxBuffer: 100_000, encoding: 'buffer' }), (e: unknown) => {
      assert.ok(e instanceof MaxBufferError, String(e));
      assert.equal(e.stream, 'stderr');
      assert.ok(Buffer.isBuffer(e.stderr) && e.stderr.length === 100_000);
      return true;
    });
    await eventually(() => serverSawClose === 2, 'the server to see the second channel closed');
    await delay(100);
    const settled = written;
    await delay(200);
    assert.equal(written, settled, 'the server writes no more once the channel is closed');
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('exec: output under maxBuffer is returned whole; bad maxBuffer values are RangeErrors', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.write('é'.repeat(500)); // 1000 bytes of UTF-8
        ch.exit(0);
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    assert.equal((await c.exec('x', { maxBuffer: 1000 })).stdout, 'é'.repeat(500));
    await assert.rejects(c.exec('x', { maxBuffer: 999 }), MaxBufferError);
    for (const bad of [0, -1, 1.5, Number.NaN, bufferConstants.MAX_LENGTH + 1]) {
      await assert.rejects(c.exec('x', { maxBuffer: bad }), RangeError);
      await assert.rejects(t.connect({ password: 'secret', maxBuffer: bad }), RangeError);
    }
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});
