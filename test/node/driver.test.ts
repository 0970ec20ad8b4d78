// The Node driver's write batching: everything the core emits during one turn
// of the event loop's poll phase reaches the socket as one writev, after that
// phase, and backpressure still counts those bytes while they wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { setImmediate as immediate } from 'node:timers/promises';
import { Driver, WRITE_BUFFER_LIMIT, clockNow } from '../../src/io/node/driver.js';

/** A socket that records each write call and the chunks it carried. */
function recordingSocket(): { socket: Duplex; calls: number[][] } {
  const calls: number[][] = [];
  const socket = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _e, cb) => {
      calls.push([chunk.length]);
      cb();
    },
    writev: (chunks, cb) => {
      calls.push(chunks.map((c) => (c.chunk as Buffer).length));
      cb();
    },
  });
  return { socket, calls };
}

/** A core whose output is whatever the test queues. */
function fakeCore() {
  const out: Uint8Array[] = [];
  return {
    out,
    core: {
      receive: () => undefined,
      pollTransmit: () => out.shift() ?? null,
      pollEvent: () => null,
      nextDeadline: () => null,
      handleTimeout: () => undefined,
      connectionLost: () => undefined,
      abort: () => undefined,
    },
  };
}

test('packets from several runs in one turn leave in one writev, after the turn', async () => {
  const { socket, calls } = recordingSocket();
  const { out, core } = fakeCore();
  const d = new Driver(socket, core, () => undefined);
  out.push(new Uint8Array(10), new Uint8Array(20));
  d.run();
  out.push(new Uint8Array(30));
  d.run();
  assert.deepEqual(calls, [], 'nothing written during the turn');
  assert.equal(socket.writableLength, 60, 'held bytes count as buffered');
  await immediate();
  assert.deepEqual(calls, [[10, 20, 30]]);
  out.push(new Uint8Array(5));
  d.run();
  await immediate();
  assert.deepEqual(calls, [[10, 20, 30], [5]], 'the next turn is a new batch');
});

test('writers are told to wait once more than the limit is held, corked or not', () => {
  const { socket } = recordingSocket();
  const { out, core } = fakeCore();
  const d = new Driver(socket, core, () => undefined);
  out.push(new Uint8Array(WRITE_BUFFER_LIMIT + 1));
  d.run();
  assert.equal(d.needsDrain, true);
});

test('writers waiting for drain are woken when the connection ends, not left waiting forever', () => {
  // A socket whose writes never complete: nothing ever drains.
  const socket = new Duplex({ read: () => undefined, write: () => undefined });
  let disconnected = false;
  const { out, core } = fakeCore();
  const ending = { ...core, pollEvent: () => (disconnected ? ((disconnected = false), { type: 'disconnected' }) : null) };
  const d = new Driver(socket, ending, () => undefined);
  out.push(new Uint8Array(WRITE_BUFFER_LIMIT + 1024));
  d.run();
  assert.ok(d.needsDrain);
  let woken = 0;
  d.onDrain(() => woken++);
  d.onDrain(() => woken++);
  disconnected = true;
  d.run();
  assert.equal(woken, 2);
  socket.destroy();
});

test('a core that throws from its timer or from connectionLost ends the connection, not the process', async () => {
  const { socket } = recordingSocket();
  const { core } = fakeCore();
  const aborted: unknown[] = [];
  let deadline: number | null = Date.now();
  const d = new Driver(socket, {
    ...core,
    nextDeadline: () => deadline,
    handleTimeout: () => {
      deadline = null;
      throw new Error('timer bug');
    },
    connectionLost: () => {
      throw new Error('lost bug');
    },
    abort: (_now: number, e: unknown) => void aborted.push(e),
  }, () => undefined);
  d.run(); // arms the timer, due at once
  await new Promise((r) => setTimeout(r, 20));
  socket.emit('end'); // a socket listener
  assert.deepEqual(aborted.map((e) => (e as Error).message), ['timer bug', 'lost bug']);
});

test("the driver's clock is monotonic: a wall clock stepped back or forward does not move it", () => {
  const realNow = Date.now;
  const before = clockNow();
  try {
    Date.now = () => realNow() - 3_600_000;
    const afterStepBack = clockNow();
    assert.ok(afterStepBack >= before, 'a wall clock stepped back an hour does not move the clock back');
    Date.now = () => realNow() + 3_600_000;
    assert.ok(clockNow() - afterStepBack < 60_000, 'a wall clock stepped forward an hour does not make every deadline due');
  } finally {
    Date.now = realNow;
  }
  // Still on the epoch scale, so options given in wall-clock ms keep working.
  assert.ok(Math.abs(clockNow() - Date.now()) < 60_000);
  // The time origin it adds is read once; it is the process's, so readings sit
  // between the same sum taken just before and just after.
  const low = performance.timeOrigin + performance.now();
  const read = clockNow();
  const high = performance.timeOrigin + performance.now();
  assert.ok(low <= read && read <= high);
});
