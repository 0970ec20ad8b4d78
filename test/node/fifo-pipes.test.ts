// Pipes for a program's stdout (src/io/node/fifo-pipes.ts): made ahead in a
// private directory, unlinked once opened, socket pairs while none is ready;
// and runAsCurrentUser's programs writing into them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { outputPipe, pidNamespace, preparePipes, removeStaleDirectories } from '../../src/io/node/fifo-pipes.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret } from './server-helpers.js';

const pipeDirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('nacre-pipes-'));

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

// First in the file: this process has made no pipes yet.
test('no pipe before any is made: the caller falls back to socket pairs; then they come', async () => {
  assert.equal(outputPipe(), null);
  assert.equal(await preparePipes(), true);
  const out = outputPipe();
  assert.ok(out);
  closeSync(out.childFd);
  out.stream.destroy();
});

test('no temporary directory to make FIFOs in: preparePipes says so and every program gets a socket pair', () => {
  const module = fileURLToPath(new URL('../../src/io/node/fifo-pipes.js', import.meta.url));
  const script = `import { preparePipes, outputPipe } from ${JSON.stringify(module)};
    const ok = await preparePipes();
    console.log(JSON.stringify([ok, outputPipe(), await preparePipes()]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: '/nonexistent/nacre-test' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [false, null, false]);
});

test("a killed process's directory is removed by the next one; a running process's is kept", async () => {
  const base = mkdtempSync(join(tmpdir(), 'fifo-pipes-test-'));
  try {
    const dead = spawnSync('true').pid!;
    const ns = pidNamespace();
    const mine = (pid: number): string => (ns === null ? `nacre-pipes-${pid}-` : `nacre-pipes-ns${ns}-${pid}-`);
    mkdirSync(join(base, `${mine(dead)}abcdef`));
    writeFileSync(join(base, `${mine(dead)}abcdef`, 'p0'), '');
    mkdirSync(join(base, `${mine(process.pid)}ghijkl`));
    writeFileSync(join(base, `${mine(dead)}file`), '');
    const module = fileURLToPath(new URL('../../src/io/node/fifo-pipes.js', import.meta.url));
    const script = `import { preparePipes } from ${JSON.stringify(module)}; console.log(await preparePipes());`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: base }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
    // The child's own directory went at its exit; the dead one's too; the rest stays.
    assert.deepEqual(readdirSync(base).sort(), [`${mine(dead)}file`, `${mine(process.pid)}ghijkl`].sort());
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('stale directories: only those of our pid namespace with a pid that no longer runs there are removed (review5 F4)', () => {
  const base = mkdtempSync(join(tmpdir(), 'fifo-pipes-test-'));
  try {
    // Above the kernel's largest pid_max (2^22): never a running process.
    const gone = 4_194_305;
    const ns = '4026531836';
    const names = {
      ours: `nacre-pipes-ns${ns}-${gone}-aaaaaa`,
      oursRunning: `nacre-pipes-ns${ns}-1-bbbbbb`,
      otherNamespace: `nacre-pipes-ns4026532999-${gone}-cccccc`,
      noNamespace: `nacre-pipes-${gone}-dddddd`,
      garbled: `nacre-pipes-ns${ns}-x${gone}-eeeeee`,
      notOurs: `other-${gone}-ffffff`,
    };
    for (const n of Object.values(names)) {
      mkdirSync(join(base, n));
      writeFileSync(join(base, n, 'p0'), '');
    }
    removeStaleDirectories(base, ns);
    const left = new Set(readdirSync(base));
    assert.equal(left.has(names.ours), false, 'our namespace, pid gone: removed');
    for (const n of [names.oursRunning, names.otherNamespace, names.noNamespace, names.garbled, names.notOurs]) assert.ok(left.has(n), `${n} is kept`);
    // A process that cannot read its namespace judges only names without one.
    removeStaleDirectories(base, null);
    const after = new Set(readdirSync(base));
    assert.equal(after.has(names.noNamespace), false);
    assert.ok(after.has(names.otherNamespace) && after.has(names.oursRunning) && after.has(names.garbled));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('pidNamespace reads /proc/self/ns/pid when there is one', () => {
  const ns = pidNamespace();
  let expected: string | null = null;
  try {
    expected = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    // no /proc here
  }
  assert.equal(ns, expected);
});

test('a pipe carries a child output, blocking on the child side, unlinked at once; onData reads into a reused buffer', async () => {
  await preparePipes();
  const dirs = pipeDirs();
  const plain = outputPipe();
  const chunks: Buffer[] = [];
  let reused: Uint8Array | null = null;
  const lent = outputPipe((bytes) => {
    // The same memory every time; the bytes are copied before the next read.
    assert.ok(reused === null || reused.buffer === bytes.buffer);
    reused = bytes;
    chunks.push(Buffer.from(bytes));
    return true;
  });
  assert.ok(plain && lent);
  // The FIFOs are gone from the directory as soon as both ends are open.
  for (const d of dirs) for (const name of readdirSync(`${tmpdir()}/${d}`)) assert.match(name, /^p\d+$/);
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  // dd writes 1000 bytes at a time into a pipe of 64 KiB that is read only after
  // a while: a non-blocking stdout would fail it with EAGAIN.
  const run = (p: { childFd: number }): Promise<number | null> => {
    const child = spawn('dd', ['bs=1000', 'status=none'], { stdio: ['pipe', p.childFd, 'ignore'] });
    closeSync(p.childFd);
    child.stdin!.end(data);
    return new Promise((r) => child.once('exit', (c) => r(c)));
  };
  plain.stream.pause();
  lent.stream.pause();
  const codes = Promise.all([run(plain), run(lent)]);
  await new Promise((r) => setTimeout(r, 100));
  const plainOut = collect(plain.stream);
  plain.stream.resume();
  lent.stream.resume();
  const lentEnd = new Promise((r) => lent.stream.once('close', r));
  assert.deepEqual(await codes, [0, 0]);
  assert.ok((await plainOut).equals(data));
  await lentEnd;
  assert.ok(Buffer.concat(chunks).equals(data));
});

test('runAsCurrentUser: stdout is a pipe, stdin and stderr socket pairs; bulk data both ways, output complete before the status', async () => {
  await preparePipes();
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    assert.equal((await c.exec('! [ -p /dev/stdin ] && [ -p /dev/stdout ] && ! [ -p /dev/stderr ] && echo pipes')).stdout, 'pipes\n');
    // Open to the program's user however it runs (the FIFO is unlinked): /dev/stdout can be opened, as under sshd.
    assert.equal((await c.exec('stat -L -c %a /dev/stdout; echo again > /dev/stdout')).stdout, '666\nagain\n');
    const down = await c.exec('head -c 3000000 /dev/zero; exit 5', { encoding: 'buffer' });
    assert.equal(down.code, 5);
    assert.equal((down.stdout as Buffer).length, 3_000_000);
    const data = Buffer.alloc(2_500_000, 9);
    const up = await c.exec('wc -c', { stdin: data });
    assert.equal(up.stdout.toString().trim(), '2500000');
    // stderr stays apart from stdout.
    assert.deepEqual(await c.exec('echo out; echo err >&2'), { stdout: 'out\n', stderr: 'err\n', code: 0, signal: null });
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: output read into the shared buffer arrives intact while a slow client holds some back and another program reads', async () => {
  await preparePipes();
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    const lines = (from: number, to: number): string => {
      let s = '';
      for (let i = from; i <= to; i++) s += `${i}\n`;
      return s;
    };
    const slow = await c.spawn('seq 1 400000');
    slow.stdout.pause();
    // Long enough for the program to fill the client's window and the server to hold the rest back.
    await new Promise((r) => setTimeout(r, 300));
    // Meanwhile another program's output goes through the same read buffer.
    const other = await c.exec('seq 400001 800000');
    assert.ok(other.stdout === lines(400_001, 800_000), 'the other output is what seq printed');
    const collected = collect(slow.stdout);
    slow.stdout.resume();
    const out = await collected;
    assert.equal((await slow.exit).code, 0);
    const expected = lines(1, 400_000);
    assert.equal(out.length, expected.length);
    assert.ok(out.toString() === expected, 'the slow output is what seq printed');
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: many programs in a row and at once, more than one batch of pipes', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    for (let i = 0; i < 20; i++) assert.equal((await c.exec(`echo ${i}`)).stdout, `${i}\n`);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => c.exec(`cat; echo ${i}`, { stdin: `in${i} ` })));
    results.forEach((r, i) => assert.equal(r.stdout, `in${i} ${i}\n`));
  } finally {
    await t.close();
  }
});

test('runAsCurrentUser: closing the channel closes our end of the pipe (the program sees EPIPE)', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    await preparePipes();
    // The program ignores SIGHUP, so only the closed pipes can end it.
    const p = await c.spawn("trap '' HUP; echo $$; while :; do echo x || exit 0; sleep 0.05; done");
    const pid = await new Promise<number>((resolve) => p.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().split('\n')[0]))));
    assert.ok(pid > 0);
    p.close();
    let alive = true;
    for (const until = Date.now() + 10_000; alive && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the program ended');
    assert.equal((await c.exec('echo still')).stdout, 'still\n');
  } finally {
    await t.close();
  }
});
