// AgentConnection: the queue, the framing of replies however they are cut,
// and its bounds (reply size, queue length, time), with explicit times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentConnection, AgentError, type AgentOutcome } from '../../src/agent/index.js';
import { seededRandom } from '../../src/testing/random.js';

const frame = (...payload: number[]) => new Uint8Array([0, 0, payload.length >> 8, payload.length & 255, ...payload]);
const replies = (out: AgentOutcome[]) => out.map((o) => ('reply' in o ? [o.id, [...o.reply]] : [o.id, o.error.problem]));

test('requests go out one at a time, each when the one before was answered', () => {
  const c = new AgentConnection();
  const a = c.request(0, new Uint8Array([11]));
  const b = c.request(0, new Uint8Array([19]));
  assert.deepEqual(c.takeOutgoing(), [frame(11)]);
  assert.equal(c.pending, 2);
  assert.deepEqual(replies(c.receive(1, frame(12, 0, 0, 0, 0))), [[a, [12, 0, 0, 0, 0]]]);
  assert.deepEqual(c.takeOutgoing(), [frame(19)]);
  assert.deepEqual(replies(c.receive(2, frame(6))), [[b, [6]]]);
  assert.equal(c.pending, 0);
  assert.equal(c.nextDeadline(), null);
});

test('a reply cut into single bytes, and two replies in one chunk, are both framed', () => {
  const c = new AgentConnection();
  const ids = [c.request(0, new Uint8Array([11])), c.request(0, new Uint8Array([11])), c.request(0, new Uint8Array([11]))];
  const first = frame(14, 0, 0, 0, 1, 9);
  const out: AgentOutcome[] = [];
  for (const byte of first) out.push(...c.receive(0, new Uint8Array([byte])));
  assert.deepEqual(replies(out), [[ids[0], [14, 0, 0, 0, 1, 9]]]);
  assert.deepEqual(replies(c.receive(0, new Uint8Array([...frame(6), ...frame(5)]))), [[ids[1], [6]], [ids[2], [5]]]);
});

test('a reply longer than the bound, or of length 0, fails every request and ends the connection', () => {
  for (const head of [[0, 0x04, 0, 1], [0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff]]) {
    const c = new AgentConnection();
    const a = c.request(0, new Uint8Array([11]));
    const b = c.request(0, new Uint8Array([11]));
    assert.deepEqual(replies(c.receive(0, new Uint8Array(head))), [[a, 'protocol'], [b, 'protocol']]);
    assert.equal(c.error?.problem, 'protocol');
    assert.throws(() => c.request(0, new Uint8Array([11])), AgentError);
    assert.deepEqual(c.receive(0, frame(6)), []);
  }
  // a smaller bound, as a caller may set
  const c = new AgentConnection({ maxReply: 4 });
  const a = c.request(0, new Uint8Array([11]));
  assert.deepEqual(replies(c.receive(0, frame(6, 0, 0, 0, 0))), [[a, 'protocol']]);
});

test('a message nobody asked for is a protocol error', () => {
  const c = new AgentConnection();
  assert.deepEqual(c.receive(0, frame(6)), []);
  assert.equal(c.error?.problem, 'protocol');
});

test('an unanswered request times out (and with it the connection); 0 waits forever', () => {
  const c = new AgentConnection({ timeoutMs: 1000 });
  const a = c.request(500, new Uint8Array([11]));
  const b = c.request(600, new Uint8Array([11]));
  assert.equal(c.nextDeadline(), 1500);
  assert.deepEqual(c.handleTimeout(1499), []);
  assert.deepEqual(replies(c.handleTimeout(1500)), [[a, 'timeout'], [b, 'timeout']]);
  // the next request's deadline starts when it is sent
  const d = new AgentConnection({ timeoutMs: 1000 });
  d.request(0, new Uint8Array([11]));
  d.request(0, new Uint8Array([11]));
  d.receive(900, frame(6));
  assert.equal(d.nextDeadline(), 1900);
  const forever = new AgentConnection({ timeoutMs: 0 });
  forever.request(0, new Uint8Array([11]));
  assert.equal(forever.nextDeadline(), null);
});

test('the queue is bounded; close() fails what is left', () => {
  const c = new AgentConnection({ maxQueued: 2 });
  const a = c.request(0, new Uint8Array([11]));
  const b = c.request(0, new Uint8Array([11]));
  assert.throws(() => c.request(0, new Uint8Array([11])), (e: unknown) => e instanceof AgentError && e.problem === 'busy');
  assert.throws(() => c.request(0, new Uint8Array(0)), RangeError);
  assert.deepEqual(replies(c.close()), [[a, 'closed'], [b, 'closed']]);
  assert.deepEqual(c.close(), []);
});

test('fuzz: random reply streams in random cuts only ever give AgentError outcomes', () => {
  const random = seededRandom('agent-connection');
  let outcomes = 0;
  for (let i = 0; i < 2000; i++) {
    const c = new AgentConnection({ maxReply: 4096 });
    for (let k = 0; k < 4; k++) c.request(0, new Uint8Array([11]));
    // mostly well-framed small replies with garbage mixed in
    const parts: number[] = [];
    for (let k = 0; k < 5; k++) {
      const r = random(2);
      if (r[0]! < 200) parts.push(...frame(...random(r[1]! % 16)));
      else parts.push(...random(1 + (r[1]! % 8)));
    }
    const stream = new Uint8Array(parts);
    for (let at = 0; at < stream.length; ) {
      const n = 1 + (random(1)[0]! % 9);
      for (const o of c.receive(at, stream.subarray(at, at + n))) {
        outcomes++;
        if ('error' in o) assert.ok(o.error instanceof AgentError);
      }
      at += n;
    }
    c.handleTimeout(1e9);
    c.close();
  }
  assert.ok(outcomes > 1000);
});
