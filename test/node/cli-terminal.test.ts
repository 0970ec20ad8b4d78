// The passphrase prompt on a real pseudo-terminal: what is typed is not
// echoed, and the terminal is back in its normal mode (echo, canonical
// input) afterwards, whether the user pressed Enter or Ctrl-C. The child
// runs `stty -a` on the same terminal after the prompt to show the mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pty, ptySkipReason } from './pty-loader.js';

const skip = ptySkipReason;

const terminalModule = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/common/terminal.js');
const CHILD = `
const { readPassphrase } = await import(${JSON.stringify(terminalModule)});
process.on('exit', () => {});
const value = await readPassphrase('Passphrase: ');
console.log('GOT[' + value + ']');
`;

/** Runs the child on a terminal, typing `keys` once the prompt shows; everything the terminal showed. */
function run(keys: string, command = `node --input-type=module -e ${shellQuote(CHILD)}`, prompt = 'Passphrase: '): Promise<{ screen: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const script = `${command}; echo "STATUS=$?"; stty -a`;
    const term = pty!.spawn('/bin/sh', ['-c', script], { name: 'xterm', cols: 200, rows: 50, cwd: process.cwd(), env: process.env });
    let screen = '';
    let typed = false;
    const timer = setTimeout(() => {
      term.kill();
      reject(new Error(`timed out; screen so far:\n${screen}`));
    }, 20000);
    term.onData((d) => {
      screen += d;
      if (!typed && screen.includes(prompt)) {
        typed = true;
        term.write(keys);
      }
    });
    term.onExit(({ exitCode }) => {
      clearTimeout(timer);
      resolve({ screen, exitCode });
    });
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The mode `stty -a` reported: echo and icanon on, not -echo / -icanon. */
function modeRestored(screen: string): boolean {
  const stty = screen.slice(screen.indexOf('STATUS='));
  return /(^|\s)echo(\s|$)/.test(stty) && /(^|\s)icanon(\s|$)/.test(stty) && !/-echo(\s|$)/.test(stty) && !/-icanon/.test(stty);
}

test('the passphrase is read with echo off and the terminal is restored after Enter', { skip, timeout: 30000 }, async () => {
  const { screen } = await run('hunter2\r');
  assert.match(screen, /GOT\[hunter2\]/);
  assert.ok(!screen.replace('GOT[hunter2]', '').includes('hunter2'), `the passphrase was echoed:\n${screen}`);
  assert.match(screen, /STATUS=0/);
  assert.ok(modeRestored(screen), screen);
});

test('Ctrl-C at the prompt interrupts the program and leaves the terminal restored', { skip, timeout: 30000 }, async () => {
  const { screen } = await run('sec\x03');
  assert.ok(!screen.includes('GOT['), screen);
  // Died of SIGINT: the shell reports 128 + 2.
  assert.match(screen, /STATUS=130/);
  assert.ok(!screen.includes('sec'), screen);
  assert.ok(modeRestored(screen), screen);
});

test('nacre-keygen -y asks for the passphrase of an encrypted key on the terminal, without echo', { skip, timeout: 30000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-tty-'));
  try {
    const key = join(dir, 'enc');
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }), { mode: 0o600 });
    const tool = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre-keygen.js');
    const prompt = `Enter passphrase for "${key}": `;
    const { screen } = await run('open sesame\r', `${shellQuote(process.execPath)} ${shellQuote(tool)} -y -f ${shellQuote(key)}`, prompt);
    assert.match(screen, /ssh-ed25519 AAAA[A-Za-z0-9+/]+/);
    assert.ok(!screen.includes('open sesame'), screen);
    assert.match(screen, /STATUS=0/);
    assert.ok(modeRestored(screen), screen);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
