// The SOCKS 4/4a/5 server handshake (src/socks): requests as curl and
// hand-written clients send them, split anywhere, and bad input refused with
// the right reply and only SocksError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SocksError, SocksHandshake, socksFailureReply, socksSuccessReply, MAX_SOCKS_HANDSHAKE, type SocksStep } from '../../src/socks/codec.js';
import { fuzz } from './fuzz-helpers.js';

const b = (...xs: (number | string)[]) => Uint8Array.from(xs.flatMap((x) => (typeof x === 'string' ? [...Buffer.from(x, 'latin1')] : [x])));

const socks4 = b(4, 1, 0x1f, 0x90, 10, 0, 0, 7, 'me', 0);
const socks4a = b(4, 1, 0, 80, 0, 0, 0, 1, 'user', 0, 'example.com', 0);
const socks5Greeting = b(5, 2, 2, 0);
const socks5Domain = b(5, 1, 0, 3, 11, 'example.com', 0x01, 0xbb);
const socks5V4 = b(5, 1, 0, 1, 127, 0, 0, 1, 0, 22);
const socks5V6 = b(5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80);

function feedAll(chunks: Uint8Array[]): { steps: SocksStep[] } {
  const h = new SocksHandshake();
  return { steps: chunks.map((c) => h.push(c)) };
}

test('SOCKS 4 CONNECT to an IPv4 address', () => {
  const { steps } = feedAll([socks4]);
  assert.deepEqual(steps[0]!.request, { version: 4, addressType: 'ipv4', host: '10.0.0.7', port: 8080 });
  assert.equal(steps[0]!.send, null);
});

test('SOCKS 4a sends the name on unresolved', () => {
  const { steps } = feedAll([socks4a]);
  assert.deepEqual(steps[0]!.request, { version: 4, addressType: 'domain', host: 'example.com', port: 80 });
});

test('SOCKS 5: greeting answered with "no authentication", then domain, IPv4 and IPv6 requests', () => {
  for (const [req, want] of [
    [socks5Domain, { version: 5, addressType: 'domain', host: 'example.com', port: 443 }],
    [socks5V4, { version: 5, addressType: 'ipv4', host: '127.0.0.1', port: 22 }],
    [socks5V6, { version: 5, addressType: 'ipv6', host: '2001:db8:0:0:0:0:0:1', port: 80 }],
  ] as const) {
    const h = new SocksHandshake();
    const first = h.push(socks5Greeting);
    assert.deepEqual([...first.send!], [5, 0]);
    assert.equal(first.request, null);
    const second = h.push(req);
    assert.deepEqual(second.request, want);
  }
});

test('a request split at every byte, and bytes sent after it kept for the connection', () => {
  for (const whole of [socks4, socks4a, b(...socks5Greeting, ...socks5Domain)]) {
    const withData = b(...whole, 'GET / HTTP/1.0\r\n');
    const h = new SocksHandshake();
    let request = null;
    let rest: Uint8Array = new Uint8Array(0);
    for (const byte of whole) {
      const s = h.push(Uint8Array.of(byte));
      if (s.request) ({ request, rest } = s);
    }
    assert.ok(request);
    assert.equal(rest.length, 0);
    // All at once, with the first data right behind the request.
    const all = new SocksHandshake().push(withData);
    const last = all.request ? all : null;
    assert.ok(last?.request);
    assert.equal(Buffer.from(last.rest).toString(), 'GET / HTTP/1.0\r\n');
  }
});

test('refusals carry the reply the version expects', () => {
  const cases: [Uint8Array[], number[]][] = [
    [[b(4, 2, 0, 80, 1, 2, 3, 4, 0)], [0, 0x5b, 0, 0, 0, 0, 0, 0]], // SOCKS 4 BIND
    [[b(5, 1, 2)], [5, 0xff]], // only username/password offered
    [[b(5, 0)], [5, 0xff]],
    [[socks5Greeting, b(5, 2, 0, 1, 1, 2, 3, 4, 0, 80)], [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]], // BIND
    [[socks5Greeting, b(5, 3, 0, 1, 1, 2, 3, 4, 0, 80)], [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]], // UDP ASSOCIATE
    [[socks5Greeting, b(5, 1, 0, 9, 1, 2, 3, 4, 0, 80)], [5, 8, 0, 1, 0, 0, 0, 0, 0, 0]], // address type 9
    [[socks5Greeting, b(5, 1, 0, 3, 0, 0, 80)], [5, 1, 0, 1, 0, 0, 0, 0, 0, 0]], // empty name
    [[b(4, 1, 0, 0, 1, 2, 3, 4, 0)], [0, 0x5b, 0, 0, 0, 0, 0, 0]], // port 0
  ];
  for (const [chunks, reply] of cases) {
    const h = new SocksHandshake();
    let err: unknown;
    try {
      for (const c of chunks) h.push(c);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof SocksError, `no SocksError for ${chunks.map((c) => Buffer.from(c).toString('hex')).join(' ')}`);
    assert.deepEqual([...err.reply], reply);
    // The handshake is over once refused.
    assert.throws(() => h.push(b(0)), SocksError);
  }
  // Greeting and a refused request in one chunk: both replies, in order.
  assert.throws(
    () => new SocksHandshake().push(b(5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80)),
    (e: unknown) => e instanceof SocksError && Buffer.from(e.reply).equals(Buffer.from([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0])),
  );
  assert.throws(() => new SocksHandshake().push(b('GET / HTTP/1.1\r\n')), (e: unknown) => e instanceof SocksError && e.reply.length === 0);
});

test('input is bounded: an endless user id or handshake is refused', () => {
  const h = new SocksHandshake();
  h.push(b(4, 1, 0, 80, 1, 2, 3, 4));
  assert.throws(() => h.push(new Uint8Array(300).fill(0x41)), (e: unknown) => e instanceof SocksError && e.reply[1] === 0x5b);
  const g = new SocksHandshake();
  g.push(b(4, 1, 0, 80, 0, 0, 0, 1, 0));
  assert.throws(() => {
    for (let i = 0; i < MAX_SOCKS_HANDSHAKE; i++) g.push(b(0x41));
  }, SocksError);
});

test('success and failure replies', () => {
  assert.deepEqual([...socksSuccessReply(4)], [0, 0x5a, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...socksSuccessReply(5)], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...socksFailureReply(4, 'refused')], [0, 0x5b, 0, 0, 0, 0, 0, 0]);
  assert.equal(socksFailureReply(5, 'refused')[1], 5);
  assert.equal(socksFailureReply(5, 'host-unreachable')[1], 4);
  assert.equal(socksFailureReply(5, 'not-allowed')[1], 2);
  assert.equal(socksFailureReply(5, 'general')[1], 1);
});

test('fuzz: mutated and random handshakes give a request, a need for more, or SocksError', () => {
  const samples = [socks4, socks4a, b(...socks5Greeting, ...socks5Domain), b(...socks5Greeting, ...socks5V6), b(...socks5Greeting, ...socks5V4)];
  const n = fuzz(
    'socks',
    samples,
    20000,
    (input) => {
      // Whole, and one byte at a time.
      new SocksHandshake().push(input);
      const h = new SocksHandshake();
      for (const byte of input) {
        const s = h.push(Uint8Array.of(byte));
        if (s.request) {
          assert.ok(s.request.port > 0 && s.request.port < 65536);
          assert.ok(s.request.host.length > 0 && s.request.host.length <= 255 + 40);
          break;
        }
      }
    },
    (err) => err instanceof SocksError,
  );
  assert.ok(n > 20000);
});
