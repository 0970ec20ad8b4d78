// The client answers post-login notices that need no reply with an IGNORE, so
// that a server with Nagle's algorithm on (sshd before a session starts) does
// not hold its next packet for our delayed TCP ACK. Counted by watching the
// transport's ignore(), which the client calls for exactly this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Transport } from '../../src/core/transport/transport.js';
import { startServer, passwordSecret } from './server-helpers.js';
import type { ServerConnection } from '../../src/server/server.js';

function countIgnores(): { readonly count: number; restore(): void } {
  const original = Transport.prototype.ignore;
  const counter = { count: 0, restore: () => (Transport.prototype.ignore = original) };
  Transport.prototype.ignore = function (this: Transport, now: number, data: Uint8Array) {
    counter.count++;
    return original.call(this, now, data);
  };
  return counter;
}

test('a no-reply global request after login is acknowledged at once with one IGNORE; one wanting a reply gets its reply instead', async () => {
  // announceHostKeys off: this test sends its own announcement, at a moment it chooses.
  const s = await startServer({ authenticate: passwordSecret, announceHostKeys: false });
  const spy = countIgnores();
  try {
    const conns: ServerConnection[] = [];
    s.server.on('authenticated', (conn) => conns.push(conn));
    const c = await s.connect({ password: 'secret' });
    assert.equal(spy.count, 0, 'nothing before the server says anything');
    const conn = conns[0]!;
    // An empty hostkeys-00@openssh.com list: the client reports it and owes no reply.
    const announced = once(c, 'hostkeys');
    void conn.node.globalRequest('hostkeys-00@openssh.com', new Uint8Array(0), false);
    await announced;
    assert.equal(spy.count, 1);
    const answer = await conn.node.globalRequest('something@example.com', new Uint8Array(0), true);
    assert.equal(answer.success, false, 'refused, and the refusal itself carries the ACK');
    assert.equal(spy.count, 1);
    await c.close();
  } finally {
    spy.restore();
    await s.close();
  }
});
