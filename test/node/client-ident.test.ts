// connect() to something that is not an SSH server: an HTTP server, a service
// that greets as SMTP does, and one that says nothing. Each fails with a
// VersionError naming host:port and quoting what it sent, the last two at
// the identification-line deadline, long before readyTimeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as httpCreateServer } from 'node:http';
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { connect } from '../../src/client/client.js';
import { VersionError } from '../../src/errors.js';

async function listen(server: NetServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** A TCP server that writes `greeting` (if any) to each connection and keeps it open. */
async function tcpServer(greeting: string | null): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = netCreateServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume();
    if (greeting !== null) s.write(greeting);
  });
  const port = await listen(server);
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const base = { host: '127.0.0.1', username: 'alice', password: 'x', keepalive: false as const, acceptUnknownHostKey: true, knownHosts: false as const };

test('an HTTP server: VersionError with what it answered, not "peer closed the connection"', async () => {
  const http = httpCreateServer((_req, res) => res.end('hello'));
  const port = await listen(http);
  try {
    const err = await connect({ ...base, port, readyTimeout: 10_000 }).then(
      () => assert.fail('connected to an HTTP server'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VersionError, String(err));
    assert.match(err.message, new RegExp(`^127\\.0\\.0\\.1:${port}: no SSH identification line before the connection closed`));
    assert.match(err.message, /it sent: 'HTTP\/1\.1 400 Bad Request\\r\\n/);
  } finally {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  }
});

test('an SMTP-style greeting and then nothing: VersionError at identTimeout, quoting the greeting', async () => {
  const smtp = await tcpServer('220 mail.example.com ESMTP ready\r\n');
  try {
    const started = Date.now();
    const err = await connect({ ...base, port: smtp.port, identTimeout: 300, readyTimeout: 20_000 }).then(
      () => assert.fail('connected to an SMTP server'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VersionError, String(err));
    assert.equal(err.message, `127.0.0.1:${smtp.port}: no SSH identification line within 300 ms; it sent: '220 mail.example.com ESMTP ready\\r\\n'`);
    assert.ok(Date.now() - started < 10_000, 'failed at identTimeout, not readyTimeout');
  } finally {
    await smtp.close();
  }
});

test('a server that says nothing: VersionError "it sent nothing" at identTimeout', async () => {
  const silent = await tcpServer(null);
  try {
    const err = await connect({ ...base, port: silent.port, identTimeout: 200, readyTimeout: 20_000 }).then(
      () => assert.fail('connected to a silent server'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VersionError, String(err));
    assert.equal(err.message, `127.0.0.1:${silent.port}: no SSH identification line within 200 ms; it sent nothing`);
  } finally {
    await silent.close();
  }
});

test('a peer that sends 1 MB without a newline: VersionError naming host:port at once, not a bare ProtocolError', async () => {
  const peer = await tcpServer('A'.repeat(1 << 20));
  try {
    const err = await connect({ ...base, port: peer.port, readyTimeout: 20_000 }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VersionError, String(err));
    assert.match(err.message, new RegExp(`^127\\.0\\.0\\.1:${peer.port}: no SSH identification line \\(line before the version is longer than 8192 bytes\\); it sent: 'AAAA`));
  } finally {
    await peer.close();
  }
});

test('identTimeout must be a whole number of milliseconds', async () => {
  await assert.rejects(connect({ ...base, port: 1, identTimeout: -1 }), RangeError);
  await assert.rejects(connect({ ...base, port: 1, identTimeout: 1.5 }), RangeError);
});
