// Session channels on createServer: handlers, exit status and signals, env,
// pty-req parsing, window-change, request ordering, many channels at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReqEnv } from '../../src/messages/channel-types.js';
import type { PtyInfo, SessionChannel, WindowSize } from '../../src/server/session-channel.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret, delay } from './server-helpers.js';

test('no session handler: exec is refused, the connection lives on', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.exec('true'));
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('session without onExec refuses exec; onExec gets stdout, stderr, stdin and exit code', async () => {
  let refused = true;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      if (refused) return;
      s.onExec = (command, ch) => {
        const parts: Buffer[] = [];
        ch.on('data', (d: Buffer) => parts.push(d));
        ch.on('end', () => {
          ch.write(`ran ${command} with ${Buffer.concat(parts).toString()}`);
          ch.stderr.write('to stderr');
          ch.exit(3);
        });
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.exec('x'));
    refused = false;
    const r = await c.exec('cmd', { stdin: 'input' });
    assert.deepEqual(r, { stdout: 'ran cmd with input', stderr: 'to stderr', code: 3, signal: null });
  } finally {
    await t.close();
  }
});

test('exit-signal reaches the client', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.write('partial output');
        ch.exitSignal('SIGKILL', true, 'killed');
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const r = await c.exec('x');
    assert.equal(r.stdout, 'partial output');
    assert.equal(r.code, null);
    assert.equal(r.signal, 'KILL');
  } finally {
    await t.close();
  }
});

test('env: accepted variables land in s.env, refused ones do not', async () => {
  let session: SessionChannel | null = null;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      session = s;
      s.onEnv = (name) => name === 'LANG';
      s.onExec = (_c, ch) => {
        ch.end(JSON.stringify(s.env));
        ch.exit(0);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const r = await c.exec('env', { env: { LANG: 'C.UTF-8', SECRET: 'x' } });
    assert.deepEqual(JSON.parse(r.stdout as string), { LANG: 'C.UTF-8' });
    assert.equal(session!.username, 'alice');
  } finally {
    await t.close();
  }
});

test('pty-req is parsed (term, size, modes); window-change updates it', async () => {
  let pty: PtyInfo | null = null;
  const sizes: WindowSize[] = [];
  let session: SessionChannel | null = null;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      session = s;
      s.onPty = (p) => {
        pty = p;
        return true;
      };
      s.onWindowChange = (size) => void sizes.push(size);
      s.onShell = (ch) => {
        ch.on('data', (d: Buffer) => {
          if (d.toString().includes('quit')) ch.exit(0);
        });
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const p = await c.shell({ pty: { term: 'vt220', cols: 100, rows: 40, width: 800, height: 600, modes: { ECHO: 0, ICANON: 1, TTY_OP_ISPEED: 38400 } } });
    await p.resize(120, 50, 960, 750);
    p.stdin.write('quit\n');
    const exit = await p.exit;
    assert.equal(exit.code, 0);
    assert.deepEqual(pty, { term: 'vt220', cols: 100, rows: 40, width: 800, height: 600, modes: { ECHO: 0, ICANON: 1, TTY_OP_ISPEED: 38400 } });
    assert.deepEqual(sizes, [{ cols: 120, rows: 50, width: 960, height: 750 }]);
    assert.equal(session!.pty?.cols, 120);
  } finally {
    await t.close();
  }
});

test('replies go out in arrival order even when handlers finish out of order', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      // Slow for A, fast for B: a naive server would answer B first.
      s.onEnv = async (name) => {
        await delay(name === 'A' ? 60 : name === 'B' ? 1 : 20);
        return name !== 'B';
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.node.openChannel('session');
    const answers = await Promise.all(['A', 'B', 'C', 'D'].map((name) => ch.request('env', ReqEnv.encode({ name, value: '1' }))));
    assert.deepEqual(answers, [true, false, true, true]);
    ch.close();
  } finally {
    await t.close();
  }
});

test('async session callback: requests wait for its handlers', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: async (s) => {
      await delay(30);
      s.onExec = (cmd, ch) => {
        ch.end(cmd.toUpperCase());
        ch.exit(0);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    assert.equal((await c.exec('late')).stdout, 'LATE');
  } finally {
    await t.close();
  }
});

test('20 concurrent channels on one connection', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    maxSessions: 20,
    session: (s) => {
      s.onExec = (cmd, ch) => {
        const n = Number(cmd);
        // Interleave output across channels with uneven delays.
        setTimeout(() => {
          ch.write(Buffer.alloc(50_000 + n * 1000, n));
          ch.exit(n);
        }, (n * 7) % 30);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => c.exec(String(n), { encoding: 'buffer' })));
    results.forEach((r, n) => {
      assert.equal(r.code, n);
      assert.equal((r.stdout as Buffer).length, 50_000 + n * 1000);
      assert.ok((r.stdout as Buffer).every((b) => b === n));
    });
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: exec with exit code, stderr, stdin, env and signals', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s) });
  try {
    const c = await t.connect({ password: 'secret' });
    const r = await c.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', code: 3, signal: null });
    assert.equal((await c.exec('tr a-z A-Z', { stdin: 'hello' })).stdout, 'HELLO');
    assert.equal((await c.exec('echo $LANG-$SECRET', { env: { LANG: 'C', SECRET: 'x' } })).stdout, 'C-\n');
    const p = await c.spawn('sleep 30');
    await delay(100);
    await p.signal('TERM');
    const exit = await p.exit;
    assert.equal(exit.signal, 'TERM');
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: a PTY-backed shell', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const p = await c.shell({ pty: { term: 'xterm', cols: 91, rows: 33 } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.write('stty size; tty; echo "T=$TERM"; exit 7\n');
    const exit = await p.exit;
    assert.equal(exit.code, 7);
    assert.match(out, /33 91/);
    assert.match(out, /\/dev\/pts\/\d+/);
    assert.match(out, /T=xterm/);
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: closing the channel hangs up the command', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const p = await c.spawn('echo $$; exec sleep 30');
    const pid = await new Promise<number>((resolve) => p.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    assert.ok(pid > 0);
    p.close();
    const until = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < until) {
      await delay(20);
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the process was hung up');
  } finally {
    await t.close();
  }
});

test('exit() after end(): EOF first, the status still arrives', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.stderr.write('warn');
        ch.end('done');
        setTimeout(() => ch.exit(5), 30);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    assert.deepEqual(await c.exec('x'), { stdout: 'done', stderr: 'warn', code: 5, signal: null });
  } finally {
    await t.close();
  }
});
