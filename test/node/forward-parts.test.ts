// The Node-side pieces of forwarding and jump hosts that need no SSH server:
// ProxyJump and ProxyCommand parsing, nacre's bind address rules, and the
// SOCKS adapter over loopback sockets (garbage, timeouts, refused targets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { NacreError } from '../../src/errors.js';
import { parseJumpHost, parseProxyJump, hopOptions } from '../../src/client/jump.js';
import { expandProxyCommand } from '../../src/client/proxy-command.js';
import { serveSocks, socksFailureOf } from '../../src/io/node/socks.js';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import { SocksError } from '../../src/socks/codec.js';
import { forwardingsFromConfig, localBindAddress, remoteBindAddress } from '../../src/cli/ssh/forwardings.js';
import { readSshConfig } from '../../src/io/node/ssh-config-files.js';

test('ProxyJump hops as ssh writes them', () => {
  assert.deepEqual(parseJumpHost('jump'), { host: 'jump' });
  assert.deepEqual(parseJumpHost('alice@jump:2222'), { host: 'jump', port: 2222, username: 'alice' });
  assert.deepEqual(parseJumpHost('ssh://bob@[::1]:22'), { host: '::1', port: 22, username: 'bob' });
  assert.deepEqual(parseJumpHost('ssh://h/'), { host: 'h' });
  assert.deepEqual(parseJumpHost('fe80::1'), { host: 'fe80::1' });
  assert.deepEqual(parseJumpHost('a@b@c'), { host: 'c', username: 'a@b' });
  assert.deepEqual(parseProxyJump('a,b@c:3'), [{ host: 'a' }, { host: 'c', port: 3, username: 'b' }]);
  assert.deepEqual(parseProxyJump('none'), []);
  for (const bad of ['', 'a,,b', '@h', 'h:0', 'h:99999', 'h:x', '[::1', '[::1]x', '-oProxyCommand=x', 'a b']) {
    assert.throws(() => parseProxyJump(bad), (e: unknown) => e instanceof NacreError && /^ProxyJump /.test(e.message), bad);
  }
});

test('a hop shares the target\'s checks and credentials, not its name, port, user or transport', () => {
  const verify = () => true;
  const hop = hopOptions({ host: 't', port: 2200, username: 'u', privateKeyFile: '~/k', verifyHostKey: verify, proxyCommand: 'x', hostKeyAlias: 'alias', forwardAgent: true }, { host: 'j', username: 'v' });
  assert.deepEqual(hop, { host: 'j', username: 'v', privateKeyFile: '~/k', verifyHostKey: verify });
});

test('ProxyCommand tokens', () => {
  assert.equal(expandProxyCommand('nc %h %p # %r %n 100%%', { host: 'h', port: 22, user: 'u', originalHost: 'alias' }), 'nc h 22 # u alias 100%');
  assert.equal(expandProxyCommand('%n', { host: 'h', port: 1, user: 'u' }), 'h');
  assert.throws(() => expandProxyCommand('nc %x', { host: 'h', port: 1, user: 'u' }), /unknown token %x/);
  assert.throws(() => expandProxyCommand('nc %', { host: 'h', port: 1, user: 'u' }), /unknown token %/);
});

test('bind addresses as ssh picks them: loopback unless GatewayPorts or an address is given', () => {
  assert.deepEqual(localBindAddress({ kind: 'tcp', port: 80 }, false), { host: 'localhost', port: 80 });
  assert.deepEqual(localBindAddress({ kind: 'tcp', port: 80 }, true), { host: '', port: 80 });
  assert.deepEqual(localBindAddress({ kind: 'tcp', host: '*', port: 80 }, false), { host: '', port: 80 });
  assert.deepEqual(localBindAddress({ kind: 'tcp', host: 'localhost', port: 80 }, true), { host: 'localhost', port: 80 });
  assert.deepEqual(localBindAddress({ kind: 'tcp', host: '10.1.2.3', port: 80 }, false), { host: '10.1.2.3', port: 80 });
  assert.deepEqual(localBindAddress({ kind: 'unix', path: '/tmp/s' }, false), { path: '/tmp/s' });
  assert.equal(remoteBindAddress(undefined), 'localhost');
  assert.equal(remoteBindAddress('*'), '');
  assert.equal(remoteBindAddress('0.0.0.0'), '0.0.0.0');
});

test('SOCKS failure reasons from SSH open failures and socket errors', () => {
  assert.equal(socksFailureOf(new ChannelOpenError('Connection refused', 2)), 'refused');
  assert.equal(socksFailureOf(new ChannelOpenError('name or service not known', 2)), 'host-unreachable');
  assert.equal(socksFailureOf(new ChannelOpenError('prohibited', 1)), 'not-allowed');
  assert.equal(socksFailureOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'refused');
  assert.equal(socksFailureOf(new Error('?')), 'general');
});

/** A loopback server whose every connection `serveSocks` serves with `connect`. */
async function socksServer(connect: Parameters<typeof serveSocks>[1], options: Parameters<typeof serveSocks>[2] = {}) {
  const server = createServer({ allowHalfOpen: true }, (s) => serveSocks(s, connect, options));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(r)) };
}

function exchange(port: number, send: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const s: Socket = netConnect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => undefined);
    s.once('close', () => resolve(Buffer.concat(got)));
    s.write(send);
  });
}

test('the SOCKS adapter: refused target, garbage, and a client that never finishes its request', async () => {
  const errors: unknown[] = [];
  const srv = await socksServer(() => Promise.reject(new ChannelOpenError('Connection refused', 2)), { onError: (e) => errors.push(e), handshakeTimeoutMs: 200 });
  try {
    assert.deepEqual([...(await exchange(srv.port, Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0])))], [0, 0x5b, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...(await exchange(srv.port, Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80])))], [5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal((await exchange(srv.port, Buffer.from('\x16\x03\x01 TLS hello'))).length, 0);
    // Half a request, then silence: dropped when the handshake time is up.
    assert.equal((await exchange(srv.port, Buffer.from([5, 1]))).length, 0);
    assert.ok(errors.some((e) => e instanceof SocksError && /in time/.test(e.message)));
    assert.ok(errors.some((e) => e instanceof ChannelOpenError));
  } finally {
    await srv.close();
  }
});

test('the SOCKS adapter relays both ways, bytes sent right after the request included', async () => {
  const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as { port: number }).port;
  const srv = await socksServer(
    (req) =>
      new Promise((resolve, reject) => {
        const s = netConnect({ host: req.host === 'echo.test' ? '127.0.0.1' : req.host, port: req.port, allowHalfOpen: true });
        s.once('connect', () => resolve(s)).once('error', reject);
      }),
  );
  try {
    const name = Buffer.from('echo.test');
    const got = await new Promise<Buffer>((resolve) => {
      const s = netConnect(srv.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.once('close', () => resolve(Buffer.concat(chunks)));
      s.end(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, Buffer.from([echoPort >> 8, echoPort & 255]), Buffer.from('eager bytes')]));
    });
    assert.deepEqual([...got.subarray(0, 12)], [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(got.subarray(12).toString(), 'eager bytes');
  } finally {
    await srv.close();
    echo.close();
  }
});

test('forwardings from a resolved ssh_config: specs, GatewayPorts, ExitOnForwardFailure, ClearAllForwardings', () => {
  const lines = ['LocalForward 8080 example.com:80', 'DynamicForward 1080', 'RemoteForward 0 localhost:22', 'GatewayPorts yes', 'ExitOnForwardFailure yes'];
  const { specs, settings } = forwardingsFromConfig(readSshConfig({ host: 'h', commandLine: lines, configFile: 'none' }));
  assert.deepEqual(
    specs.map((s) => s.type),
    ['local', 'dynamic', 'remote'],
  );
  assert.deepEqual(specs[0], { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'example.com', port: 80 } });
  assert.deepEqual(settings, { gatewayPorts: true, exitOnForwardFailure: true });
  const cleared = forwardingsFromConfig(readSshConfig({ host: 'h', commandLine: [...lines, 'ClearAllForwardings yes'], configFile: 'none' }));
  assert.deepEqual(cleared.specs, []);
  assert.deepEqual(forwardingsFromConfig(readSshConfig({ host: 'h', configFile: 'none' })).settings, { gatewayPorts: false, exitOnForwardFailure: false });
});
