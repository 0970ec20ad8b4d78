// The client's exec and spawn given the command as bytes: the exec request
// carries them as they are (the same SSH string a text command's UTF-8
// makes). Bytes that are not UTF-8 reaching a shell are checked against
// OpenSSH's sshd in test/interop/scp-legacy-bytes.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from '../../src/client/process.js';
import { startServer, passwordSecret } from './server-helpers.js';

async function withEchoServer(run: (c: Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['connect']>>) => Promise<void>): Promise<void> {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (command, ch) => {
        ch.end(`ran ${command}`);
        ch.exit(command.startsWith('fail') ? 2 : 0);
      };
    },
  });
  try {
    await run(await t.connect({ password: 'secret' }));
  } finally {
    await t.close();
  }
}

test('exec and spawn take the command as bytes, sent as they are', async () => {
  await withEchoServer(async (c) => {
    const bytes = Buffer.from('echo café ✓');
    assert.deepEqual(await c.exec(bytes), { stdout: 'ran echo café ✓', stderr: '', code: 0, signal: null });
    // A Uint8Array that is a view into a larger buffer: only its own bytes go.
    const big = new Uint8Array([0x78, ...Buffer.from('true'), 0x79]);
    assert.equal((await c.exec(big.subarray(1, 5))).stdout, 'ran true');
    const p = await c.spawn(new TextEncoder().encode('streamed'));
    const out: Buffer[] = [];
    for await (const d of p.stdout) out.push(d as Buffer);
    assert.equal(Buffer.concat(out).toString(), 'ran streamed');
    assert.equal((await p.exit).code, 0);
    // Text is sent as its UTF-8, as before.
    assert.equal((await c.exec('echo café')).stdout, 'ran echo café');
  });
});

test('ExecError names a command given as bytes by its text (U+FFFD for bytes that are not UTF-8)', async () => {
  await withEchoServer(async (c) => {
    const err = await c.exec(Buffer.from('fail now'), { rejectOnError: true }).catch((e: unknown) => e);
    assert.ok(err instanceof ExecError);
    assert.equal(err.command, 'fail now');
    assert.equal(err.result.code, 2);
    const e2 = new ExecError(new Uint8Array([0x61, 0xff]), { stdout: '', stderr: '', code: 1, signal: null });
    assert.equal(e2.command, 'a\uFFFD');
    assert.match(e2.message, /^command "a\uFFFD" exited with status 1$/);
  });
});

test('a refused exec rejects with "the server refused to run ..." (nacre-scp -O reports it as ssh does)', async () => {
  // Sessions, but no exec handler: the exec request gets CHANNEL_FAILURE.
  const t = await startServer({ authenticate: passwordSecret, session: () => undefined });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.spawn(new Uint8Array([0x73, 0x63, 0x70, 0xff])), (e: unknown) => e instanceof Error && e.message === 'the server refused to run "scp\uFFFD"');
    await assert.rejects(c.exec('scp -f x'), (e: unknown) => e instanceof Error && e.message === 'the server refused to run "scp -f x"');
  } finally {
    await t.close();
  }
});

test('the server hands a command that is not UTF-8 to onExec escaped, and refuses one holding a NUL', async () => {
  await withEchoServer(async (c) => {
    const r = await c.exec(new Uint8Array([0x6c, 0x73, 0x20, 0xff]));
    // The echo server writes the escaped string back; its UTF-8 shows the lone surrogate as U+FFFD.
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'ran ls \uFFFD');
    await assert.rejects(c.exec(new Uint8Array([0x6c, 0x73, 0x00, 0xff])), /refused to run/);
    await assert.rejects(c.exec('ls\0x'), /refused to run/);
  });
});
