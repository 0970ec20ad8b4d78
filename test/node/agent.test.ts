// The agent client and connect()'s use of it against an in-test fake agent,
// for what a real agent does not do on demand: refusing, dying in the middle
// of a signature, answering too much or not at all; and agent forwarding
// with a Nacre server that opens auth-agent@openssh.com channels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../../src/client/agent-client.js';
import { AuthenticationError } from '../../src/errors.js';
import { generateHostKey, verifySignature, type KeySigner } from '../../src/keys/index.js';
import {
  AgentError,
  AgentExtension,
  AgentIdentitiesAnswer,
  AgentSignRequest,
  AgentSignResponse,
  MSG_AGENT,
  SessionBind,
  type SessionBindValue,
} from '../../src/agent/index.js';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import type { Channel } from '../../src/io/node/channel.js';
import { startServer, testHostKey } from './server-helpers.js';

type Answer = Uint8Array | 'die' | 'silent' | ((socket: Socket) => void);

interface FakeAgent {
  readonly path: string;
  /** Requests received, payloads (type byte first). */
  readonly requests: Uint8Array[];
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

const FAILURE = new Uint8Array([MSG_AGENT.FAILURE]);
const SUCCESS = new Uint8Array([MSG_AGENT.SUCCESS]);

/** An agent on a Unix socket that answers each request as `answer` says (default: it holds `keys` and signs with them). */
async function fakeAgent(keys: KeySigner[], answer: (payload: Uint8Array) => Answer | undefined = () => undefined): Promise<FakeAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-fake-agent-'));
  const path = join(dir, 'agent.sock');
  const sockets = new Set<Socket>();
  const state = { requests: [] as Uint8Array[], connections: 0 };
  const standard = (payload: Uint8Array): Uint8Array => {
    if (payload[0] === MSG_AGENT.REQUEST_IDENTITIES) return AgentIdentitiesAnswer.encode({ keys: keys.map((k) => ({ key: k.publicBlob, comment: k.keyType })) });
    if (payload[0] === MSG_AGENT.SIGN_REQUEST) {
      const req = AgentSignRequest.decode(payload);
      const key = keys.find((k) => Buffer.from(k.publicBlob).equals(req.key));
      if (!key) return FAILURE;
      const algorithm = key.keyType === 'ssh-rsa' ? (req.flags & 4 ? 'rsa-sha2-512' : req.flags & 2 ? 'rsa-sha2-256' : 'ssh-rsa') : key.keyType;
      return AgentSignResponse.encode({ signature: key.sign(algorithm, req.data) as Uint8Array });
    }
    if (payload[0] === MSG_AGENT.EXTENSION) return SUCCESS;
    return FAILURE;
  };
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const payload = new Uint8Array(buffered.subarray(4, 4 + buffered.readUInt32BE(0)));
        buffered = buffered.subarray(4 + payload.length);
        state.requests.push(payload);
        const a = answer(payload) ?? standard(payload);
        if (a === 'die') socket.destroy();
        else if (a === 'silent') continue;
        else if (typeof a === 'function') a(socket);
        else {
          const head = Buffer.alloc(4);
          head.writeUInt32BE(a.length);
          socket.write(Buffer.concat([head, a]));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ed = generateHostKey('ssh-ed25519');
const other = generateHostKey('ssh-ed25519');
const rsa = generateHostKey('ssh-rsa', 2048);

/** A server taking publickey logins by the keys in `allowed`, and passwords "secret". */
function keyServer(allowed: KeySigner[], extra: Parameters<typeof startServer>[0] = {}) {
  return startServer({
    authenticate: (ctx) =>
      (ctx.method === 'password' && ctx.password === 'secret') || (ctx.method === 'publickey' && allowed.some((k) => Buffer.from(k.publicBlob).equals(Buffer.from(ctx.publicKey!.blob)))),
    ...extra,
  });
}

test('AgentClient lists and signs; an RSA signature asks for SHA-2 with the flags', async () => {
  const agent = await fakeAgent([ed, rsa]);
  try {
    await using client = await AgentClient.connect(agent.path);
    const keys = await client.list();
    assert.deepEqual(keys.map((k) => k.keyType), ['ssh-ed25519', 'ssh-rsa']);
    const data = new TextEncoder().encode('data');
    const sig = await client.sign(rsa.publicBlob, data, 'rsa-sha2-512');
    assert.ok(verifySignature(rsa.publicBlob, 'rsa-sha2-512', data, sig));
    assert.equal(AgentSignRequest.decode(agent.requests.at(-1)!).flags, 4);
    await client.sign(rsa.publicBlob, data, 'rsa-sha2-256');
    assert.equal(AgentSignRequest.decode(agent.requests.at(-1)!).flags, 2);
    await client.sign(ed.publicBlob, data);
    assert.equal(AgentSignRequest.decode(agent.requests.at(-1)!).flags, 0);
  } finally {
    await agent.close();
  }
});

test('an agent that refuses, dies mid-signature, answers too much or nothing: each a distinct AgentError', async () => {
  const data = new Uint8Array([1]);
  const problem = (p: string) => (e: unknown) => e instanceof AgentError && e.problem === p;
  for (const [answer, expected] of [
    [FAILURE, 'refused'],
    ['die', 'closed'],
    // a header announcing 16 MiB, then more and more: the client must not buffer it
    [(s: Socket) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(16 * 1024 * 1024);
      s.write(head);
      s.write(Buffer.alloc(1024 * 1024));
    }, 'protocol'],
    ['silent', 'timeout'],
  ] as const) {
    const agent = await fakeAgent([ed], (p) => (p[0] === MSG_AGENT.SIGN_REQUEST ? answer : undefined));
    try {
      const client = await AgentClient.connect(agent.path, { timeoutMs: 200 });
      await assert.rejects(client.sign(ed.publicBlob, data), problem(expected));
      client.close();
    } finally {
      await agent.close();
    }
  }
  await assert.rejects(AgentClient.connect('/nonexistent/agent.sock'), problem('unavailable'));
});

test('connect(): the agent key logs in, after session-bind proving the server host key and session', async () => {
  const agent = await fakeAgent([other, ed]);
  const t = await keyServer([ed]);
  try {
    const c = await t.connect({ agent: agent.path });
    await c.close();
    const bindAt = agent.requests.findIndex((p) => p[0] === MSG_AGENT.EXTENSION);
    const signAt = agent.requests.findIndex((p) => p[0] === MSG_AGENT.SIGN_REQUEST);
    assert.ok(bindAt >= 0 && bindAt < signAt, 'bound before the first signature');
    const ext = AgentExtension.decode(agent.requests[bindAt]!);
    assert.equal(ext.name, 'session-bind@openssh.com');
    const bind: SessionBindValue = SessionBind.decode(ext.data);
    assert.deepEqual(bind.hostKey, testHostKey().publicBlob);
    assert.equal(bind.forwarding, false);
    assert.ok(verifySignature(bind.hostKey, 'ssh-ed25519', bind.sessionId, bind.signature), 'the signature is the server\'s over the session id');
    // the signed userauth request is for this session
    assert.deepEqual(AgentSignRequest.decode(agent.requests[signAt]!).data.subarray(4, 4 + bind.sessionId.length), bind.sessionId);
  } finally {
    await t.close();
    await agent.close();
  }
});

test('connect(): an agent refusing or dying costs only its keys; the next credential is tried', async () => {
  for (const answer of [FAILURE, 'die'] as const) {
    const agent = await fakeAgent([ed], (p) => (p[0] === MSG_AGENT.SIGN_REQUEST ? answer : undefined));
    const t = await keyServer([ed]);
    try {
      const c = await t.connect({ agent: agent.path, password: 'secret' });
      await c.close();
      await assert.rejects(t.connect({ agent: agent.path }), (e: unknown) => e instanceof AuthenticationError && /signer of SHA256:.* failed/.test(e.message));
    } finally {
      await t.close();
      await agent.close();
    }
  }
});

test('connect(): an agent that is not there is skipped, as ssh does', async () => {
  const t = await keyServer([]);
  const lines: string[] = [];
  try {
    const c = await t.connect({ agent: '/nonexistent/agent.sock', password: 'secret', debug: (_l, m) => lines.push(m) });
    await c.close();
    assert.ok(lines.some((l) => /agent: not used/.test(l)));
  } finally {
    await t.close();
  }
});

test('identitiesOnly: agent keys not given are not offered; a given key the agent holds is signed by the agent', async () => {
  const agent = await fakeAgent([ed, other]);
  const offered: string[] = [];
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method === 'publickey') offered.push(ctx.publicKey!.fingerprint);
      return ctx.method === 'publickey' && Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(other.publicBlob));
    },
  });
  try {
    const failing = { keyType: other.keyType, publicBlob: other.publicBlob, sign: () => Promise.reject(new Error('must be signed by the agent')) };
    const c = await t.connect({ agent: agent.path, identitiesOnly: true, privateKey: failing });
    await c.close();
    const { fingerprintSha256 } = await import('../../src/keys/index.js');
    assert.ok(!offered.includes(fingerprintSha256(ed.publicBlob)), 'the agent key not given was not offered');
  } finally {
    await t.close();
    await agent.close();
  }
});

test('forwardAgent: the server\'s auth-agent channel reaches the agent, bound for forwarding; refused without it', async () => {
  const agent = await fakeAgent([ed, rsa]);
  const seen: { requested: number } = { requested: 0 };
  let connection: import('../../src/server/server.js').ServerConnection | null = null;
  const t = await keyServer([], {
    session: (s) => {
      s.onAgentForwarding = () => {
        seen.requested++;
        return true;
      };
      s.onExec = (_cmd, ch) => {
        ch.end('ok');
        ch.exit(0);
      };
    },
  });
  t.server.on('authenticated', (conn) => (connection = conn));
  try {
    const c = await t.connect({ password: 'secret', agent: agent.path, forwardAgent: true });
    await c.exec('x');
    assert.equal(seen.requested, 1);
    const before = agent.connections;
    const channel = await connection!.openChannel('auth-agent@openssh.com');
    const remote = AgentClient.over(channel);
    assert.deepEqual((await remote.list()).map((k) => k.keyType), ['ssh-ed25519', 'ssh-rsa']);
    remote.close();
    assert.equal(agent.connections, before + 1, 'a new agent connection per channel');
    const bind = agent.requests.filter((p) => p[0] === MSG_AGENT.EXTENSION).map((p) => SessionBind.decode(AgentExtension.decode(p).data));
    assert.equal(bind.at(-1)!.forwarding, true);
    await c.close();

    const plain = await t.connect({ password: 'secret', agent: agent.path });
    await plain.exec('x');
    assert.equal(seen.requested, 1, 'no auth-agent-req without forwardAgent');
    await assert.rejects(connection!.openChannel('auth-agent@openssh.com'), ChannelOpenError);
    await plain.close();
  } finally {
    await t.close();
    await agent.close();
  }
});

test('forwardAgent: at most 16 forwarded agent connections at once; a closed one frees its slot', async () => {
  const agent = await fakeAgent([ed]);
  let connection: import('../../src/server/server.js').ServerConnection | null = null;
  const t = await keyServer([], { session: (s) => void (s.onAgentForwarding = () => true) });
  t.server.on('authenticated', (conn) => (connection = conn));
  try {
    const c = await t.connect({ password: 'secret', agent: agent.path, forwardAgent: true });
    const channels = await Promise.all(Array.from({ length: 16 }, () => connection!.openChannel('auth-agent@openssh.com')));
    await assert.rejects(connection!.openChannel('auth-agent@openssh.com'), (e: unknown) => e instanceof ChannelOpenError && e.openReason === 4);
    const closed = new Promise((r) => channels[0]!.once('close', r));
    channels[0]!.destroy();
    await closed;
    // the client notices the close once its relay ends; give it its turn
    let again: Channel | null = null;
    for (let i = 0; i < 50 && !again; i++) {
      again = await connection!.openChannel('auth-agent@openssh.com').catch(() => null);
      if (!again) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(again, 'a slot was freed');
    const remote = AgentClient.over(again);
    assert.equal((await remote.list()).length, 1);
    remote.close();
    for (const ch of channels) ch.destroy();
    await c.close();
  } finally {
    await t.close();
    await agent.close();
  }
});
