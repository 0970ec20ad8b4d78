// src/cli/common/background.ts: the foreground exits once its background copy
// is ready, the copy keeps serving, and a failure before readiness comes back
// as the foreground's exit status and message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { startInBackground, BACKGROUND_ENV } from '../../src/cli/common/background.js';

const here = dirname(new URL(import.meta.url).pathname);
const moduleUrl = new URL('file://' + resolve(here, '../../src/cli/common/background.js')).href;
const dir = mkdtempSync(join(tmpdir(), 'nacre-bg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// One program, both roles, as `nacre -f` is: without NACRE_BACKGROUND it is
// the foreground (starts its copy, exits with the outcome); with it, it does
// what argv[2] says.
const program = join(dir, 'prog.mjs');
writeFileSync(
  program,
  `import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { startInBackground, backgroundChild } from ${JSON.stringify(moduleUrl)};
const [mode, portFile] = process.argv.slice(2);
const bg = backgroundChild();
if (!bg) {
  const o = await startInBackground({ stdio: mode === 'detach' ? 'detach' : 'inherit' });
  if (o.message) process.stderr.write(o.message + '\\n');
  process.stdout.write('foreground done ' + o.pid + '\\n');
  process.exit(o.code);
}
if (process.env.NACRE_BACKGROUND !== undefined) throw new Error('the marker leaked into the environment');
if (mode === 'serve' || mode === 'detach') {
  process.stderr.write('child says hello\\n');
  const server = createServer((s) => { s.end('served by ' + process.pid); server.close(); });
  server.listen(0, '127.0.0.1', () => {
    writeFileSync(portFile, String(server.address().port));
    bg.ready();
    setTimeout(() => process.stderr.write('late stderr\\n'), 100);
  });
} else if (mode === 'fail') {
  bg.fail(3, 'nacre: could not do it');
} else if (mode === 'silent-exit') {
  process.exit(7);
} else if (mode === 'throw') {
  throw new Error('boom');
}
`,
);

function runForeground(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => (stdout += b));
    p.stderr.on('data', (b) => (stderr += b));
    // Only the foreground's exit: in 'inherit' mode the copy holds the pipes.
    p.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

function fetchOnce(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (b) => (text += b));
    s.on('end', () => res(text));
    s.on('error', rej);
  });
}

test('the foreground exits 0 once the copy is ready; the copy keeps serving', async () => {
  const portFile = join(dir, 'port1');
  const r = await runForeground(['serve', portFile]);
  assert.equal(r.code, 0);
  const pid = Number(/foreground done (\d+)/.exec(r.stdout)?.[1]);
  assert.ok(pid > 0);
  assert.ok(existsSync(portFile), 'the copy was ready before the foreground exited');
  // The foreground is gone; the copy answers.
  const reply = await fetchOnce(Number(readFileSync(portFile, 'utf8')));
  assert.equal(reply, `served by ${pid}`);
});

test("in 'detach' mode the copy's stderr reaches the foreground until readiness only", async () => {
  const portFile = join(dir, 'port2');
  const p = spawn(process.execPath, [program, 'detach', portFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (b) => (stderr += b));
  // 'close' waits for every holder of the pipes: in detach mode the copy holds none.
  const code = await new Promise<number | null>((res) => p.on('close', res));
  assert.equal(code, 0);
  assert.match(stderr, /child says hello/);
  assert.doesNotMatch(stderr, /late stderr/);
  await fetchOnce(Number(readFileSync(portFile, 'utf8')));
});

test("a failure reported before readiness is the foreground's status and message", async () => {
  const r = await runForeground(['fail']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /nacre: could not do it/);
});

test("a copy that exits without a report gives its exit status; an uncaught error's stderr is seen", async () => {
  assert.equal((await runForeground(['silent-exit'])).code, 7);
  const r = await runForeground(['throw']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /boom/);
});

test('a program that cannot start is a clear failure, 255', async () => {
  const o = await startInBackground({ command: { file: join(dir, 'no-such-program'), args: [] } });
  assert.equal(o.code, 255);
  assert.match(o.message, /cannot start the background process/);
});

test('a garbled status report is refused, 255', async () => {
  const o = await startInBackground({ command: { file: process.execPath, args: ['-e', `require('fs').writeSync(Number(process.env.${BACKGROUND_ENV}), '{"ready":"maybe"}\\n')`] } });
  assert.equal(o.code, 255);
  assert.match(o.message, /unreadable status report/);
});
