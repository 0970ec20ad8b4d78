// Interactive sessions of the real `nacre` (or, without it, of the test
// entry driving the same session module) against OpenSSH 10's sshd, typed
// through tmux as a user would: a command and its output, a full-screen program, a window
// resize reaching the far side, `~.`, `~C -L` and the other escapes, and the
// local terminal put back (icanon, echo, ...) after every way out: the
// remote shell exiting, `~.`, a signal from outside, an uncaught exception,
// and `~^Z` with `fg`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir, freePort, type Sshd } from './openssh.js';
import { NACRE, startKeyedSshd, type KeyedSshd } from './nacre-run.js';
import { findTmux, TmuxPane } from './nacre-tmux.js';
import type { EntryConfig } from './term-session-entry.js';

const o = findOpenSsh();
const tmux = findTmux();
const skip = !o ? 'OpenSSH is not installed (see scripts/install-test-peers.sh)' : !tmux ? 'tmux is not installed (see scripts/install-test-peers.sh)' : false;
const here = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(here, 'term-session-entry.js');
/**
 * The real `nacre` bin when this tree has it (its sessions go through
 * src/cli/ssh/interactive.ts); NACRE_TMUX_ENTRY=1 forces the test entry,
 * which drives the same module without nacre's argument handling.
 */
const useNacre = existsSync(NACRE) && process.env.NACRE_TMUX_ENTRY !== '1';

let dir = '';
let key = '';
let sshd: Sshd;
let peer: KeyedSshd | undefined;
before(async () => {
  if (skip) return;
  peer = await startKeyedSshd(o!, 'tmux');
  ({ dir, key, sshd } = peer);
});
after(async () => {
  if (skip) return;
  await peer?.stop();
});

/** What `stty -a` in the pane says of the settings raw mode changes, sorted. */
const MODES_CHECK = `echo "modes: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig|opost|icrnl|ixon)' | sort | tr '\\n' ' ')"`;
const COOKED = /modes: echo icanon icrnl isig ixon opost/;

interface Session {
  readonly pane: TmuxPane;
  readonly work: string;
  /** Waits for the local shell's `status=N` line after the session and returns N. */
  status(): Promise<number>;
  /** Checks in the pane that the terminal is cooked again. */
  checkRestored(): Promise<void>;
  close(): void;
}

let counter = 0;
/**
 * A pane running a session (`nacre`, or the test entry when `via` says so or
 * nacre is absent) with `config`; `cols`×`rows`.
 */
async function session(config: SessionConfig, cols = 100, rows = 30, via: 'nacre' | 'entry' = 'nacre'): Promise<Session> {
  const work = tempDir(`tmux-${++counter}`);
  const pane = new TmuxPane(tmux!, work, cols, rows);
  try {
    await pane.waitFor(/^pane\$$/m, 10000, 'the local prompt');
  } catch (err) {
    pane.kill();
    throw err;
  }
  pane.line(`${commandLine(config, work, via)}; echo "status=$?"`);
  return {
    pane,
    work,
    async status() {
      const text = await pane.waitFor(/^status=(\d+)/m, 20000, 'the exit status');
      return Number(/^status=(\d+)/m.exec(text)![1]);
    },
    async checkRestored() {
      pane.line(MODES_CHECK);
      const text = await pane.waitFor(/^modes: /m, 10000, 'the modes line');
      assert.match(text, COOKED, 'the terminal is cooked again');
    },
    close() {
      pane.kill();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command typed in the pane. */
/** What a session runs; `nacreOptions` replace the default `-o EnableEscapeCommandline=yes` (nacre only). */
type SessionConfig = Omit<EntryConfig, 'port' | 'key'> & { readonly nacreOptions?: readonly string[] };

function commandLine(config: SessionConfig, work: string, via: 'nacre' | 'entry'): string {
  if (!useNacre || via === 'entry') {
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify({ port: sshd.port, key, ...config }));
    return `${process.execPath} ${ENTRY} ${file}`;
  }
  const args = [
    '-F', 'none',
    '-i', key,
    '-p', String(sshd.port),
    '-o', 'StrictHostKeyChecking=no',
    '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`,
    '-o', `GlobalKnownHostsFile=${join(work, 'global_known_hosts')}`,
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    // ssh 10 turns the ~C command line off by default; nacre follows the option.
    ...(config.nacreOptions ?? ['-o', 'EnableEscapeCommandline=yes']),
    ...(config.pty && config.command !== undefined ? ['-t'] : []),
    ...(config.stdinNull ? ['-n'] : []),
    '127.0.0.1',
    ...(config.command !== undefined ? [config.command] : []),
  ];
  return [process.execPath, NACRE, ...args].map(shellQuote).join(' ');
}

/** The pid of the program running in the pane's shell. */
function programPid(s: Session): number {
  const shell = spawnSync(tmux!, ['-S', join(s.work, 'tmux.sock'), 'display', '-p', '-t', 'term:0.0', '#{pane_pid}'], { encoding: 'utf8' }).stdout.trim();
  const child = spawnSync('pgrep', ['-P', shell], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  return Number(child);
}

test('typing a command in the login shell shows its output; exit ends the session with its status, terminal restored', { skip }, async () => {
  const s = await session({ pty: true });
  try {
    s.pane.line('echo NACRE_$((6*7)); echo "term=$TERM"');
    await s.pane.waitFor(/^NACRE_42\s*$/m);
    await s.pane.waitFor(/^term=screen\s*$/m);
    s.pane.line('exit 3');
    await s.pane.waitFor(/Connection to 127\.0\.0\.1 closed\./);
    assert.equal(await s.status(), 3);
    await s.checkRestored();
  } finally {
    s.close();
  }
});

const noVi = !(process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'vi')));

test('a full-screen program (vi) draws the whole window and quits', { skip: skip || (noVi ? 'vi is not installed' : false) }, async () => {
  writeFileSync(join(dir, 'vi-file.txt'), 'the first line of the file\n');
  const s = await session({ pty: true, command: `vi ${join(dir, 'vi-file.txt')}` }, 90, 28);
  try {
    const screen = await s.pane.waitFor(/the first line of the file/);
    await s.pane.waitFor((t) => t.split('\n').filter((l) => l === '~').length >= 20, 10000, 'the ~ lines');
    // The ~ lines fill the window: 28 rows less the text line and the status line.
    const tildes = s.pane.screen().split('\n').filter((l) => l === '~').length;
    assert.equal(tildes, 26, screen);
    s.pane.type(':q');
    s.pane.keys('Enter');
    assert.equal(await s.status(), 0);
    await s.checkRestored();
  } finally {
    s.close();
  }
});

test('a window resize reaches the far side (stty size)', { skip }, async () => {
  const s = await session({ pty: true });
  try {
    s.pane.line('echo "size=$(stty size)"');
    await s.pane.waitFor(/^size=30 100\s*$/m);
    s.pane.resize(120, 40);
    // SIGWINCH, window-change and the far side's resize take a moment: ask until it shows.
    for (let i = 0; ; i++) {
      s.pane.line('echo "size=$(stty size)"');
      try {
        await s.pane.waitFor(/^size=40 120\s*$/m, 1000);
        break;
      } catch (err) {
        if (i === 10) throw err;
      }
    }
    s.pane.line('exit');
    assert.equal(await s.status(), 0);
  } finally {
    s.close();
  }
});

test('~. disconnects (exit 255) and the terminal is cooked again', { skip }, async () => {
  const s = await session({ pty: true });
  try {
    s.pane.line('echo READY_$((1+1))');
    await s.pane.waitFor(/^READY_2\s*$/m);
    s.pane.line('sleep 1000');
    s.pane.keys('Enter');
    s.pane.type('~.');
    await s.pane.waitFor(/Connection to 127\.0\.0\.1 closed\./);
    assert.equal(await s.status(), 255);
    await s.checkRestored();
  } finally {
    s.close();
  }
});

test('~C adds a -L forwarding that then works; ~# lists it; ~? shows the help; ~~ sends one ~', { skip }, async () => {
  const target: Server = createServer((c) => c.end('hello-from-target\n'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetPort = (target.address() as { port: number }).port;
  const localPort = await freePort();
  const s = await session({ pty: true }).catch((err: unknown) => {
    target.close();
    throw err;
  });
  try {
    s.pane.line('echo READY_$((1+1))');
    await s.pane.waitFor(/^READY_2\s*$/m);
    s.pane.type('~C');
    await s.pane.waitFor(/^ssh> ?$/m, 10000, 'the ssh> prompt');
    await s.pane.next('Forwarding port.', () => s.pane.line(`-L ${localPort}:127.0.0.1:${targetPort}`));
    const got = await new Promise<string>((resolve, reject) => {
      const c = netConnect(localPort, '127.0.0.1');
      let text = '';
      c.on('data', (d: Buffer) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    assert.equal(got, 'hello-from-target\n');
    // A bad command line and the help.
    s.pane.type('~C');
    await s.pane.next('Invalid command.', () => s.pane.line('-X'));
    await s.pane.next('Supported escape sequences:', () => s.pane.type('~?'));
    const listed = await s.pane.next('The following connections are open:', () => s.pane.type('~#'));
    assert.match(listed.slice(listed.lastIndexOf('The following connections are open:')), new RegExp(`:${localPort}\\b`));
    await s.pane.next('Canceled forwarding.', () => {
      s.pane.type('~C');
      s.pane.line(`-KL ${localPort}`);
    });
    // ~~ sends one ~ to the remote shell.
    s.pane.line('~~echo "tilde-$?"');
    await s.pane.waitFor(/~echo: command not found|tilde-/);
    s.pane.keys('Enter');
    s.pane.type('~.');
    assert.equal(await s.status(), 255);
    await s.checkRestored();
  } finally {
    s.close();
    target.close();
  }
});

test('by default ~C answers "commandline disabled" and ~? lists neither ~C nor ~&; with the command line and PermitLocalCommand, !command runs locally', { skip }, async () => {
  const off = await session({ pty: true, nacreOptions: [] });
  try {
    off.pane.line('echo READY_$((1+1))');
    await off.pane.waitFor(/^READY_2\s*$/m);
    await off.pane.next('commandline disabled', () => off.pane.type('~C'));
    const help = await off.pane.next('(Note that escapes are only recognized immediately after newline.)', () => off.pane.type('~?'));
    const shown = help.slice(help.lastIndexOf('Supported escape sequences:'));
    assert.ok(!shown.includes('~C'), shown);
    assert.ok(!shown.includes('~&'), shown);
    off.pane.type('~.');
    assert.equal(await off.status(), 255);
  } finally {
    off.close();
  }
  const local = await session({ pty: true, nacreOptions: ['-o', 'EnableEscapeCommandline=yes', '-o', 'PermitLocalCommand=yes'] });
  try {
    local.pane.line('echo READY_$((1+1))');
    await local.pane.waitFor(/^READY_2\s*$/m);
    local.pane.type('~C');
    await local.pane.waitFor(/^ssh> ?$/m, 10000, 'the ssh> prompt');
    await local.pane.next('LOCAL_7', () => local.pane.line('!echo LOCAL_$((3+4))'));
    local.pane.type('~.');
    assert.equal(await local.status(), 255);
    await local.checkRestored();
  } finally {
    local.close();
  }
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const) {
  test(`${signal} from outside ends the session with 255 and restores the terminal`, { skip }, async () => {
    const s = await session({ pty: true });
    try {
      s.pane.line('echo READY_$((1+1))');
      await s.pane.waitFor(/^READY_2\s*$/m);
      const pid = programPid(s);
      assert.ok(pid > 0);
      process.kill(pid, signal);
      assert.equal(await s.status(), 255);
      await s.checkRestored();
    } finally {
      s.close();
    }
  });
}

test('an uncaught exception in the middle of a session leaves the terminal restored', { skip }, async () => {
  // nacre has no way to throw on purpose: the test entry runs the same session module.
  const s = await session({ pty: true, throwAfterMs: 1500 }, 100, 30, 'entry');
  try {
    s.pane.line('echo READY_$((1+1))');
    await s.pane.waitFor(/^READY_2\s*$/m);
    assert.notEqual(await s.status(), 0);
    await s.checkRestored();
  } finally {
    s.close();
  }
});

test('~^Z suspends with the terminal restored; fg resumes in raw mode', { skip }, async () => {
  const s = await session({ pty: true });
  try {
    s.pane.line('echo READY_$((1+1))');
    await s.pane.waitFor(/^READY_2\s*$/m);
    s.pane.type('~');
    s.pane.keys('C-z');
    await s.pane.waitFor(/~\^Z \[suspend ssh\]/, 10000, 'the suspend echo');
    // The local shell took over: the job stopped (128 + SIGTSTP) and the terminal is cooked.
    assert.equal(await s.status(), 148);
    await s.checkRestored();
    s.pane.line('fg');
    await new Promise((r) => setTimeout(r, 500));
    s.pane.line('echo BACK_$((2+2))');
    await s.pane.waitFor(/^BACK_4$/m);
    await s.pane.next('Connection to 127.0.0.1 closed.', () => s.pane.line('exit'));
    await s.pane.next('after=0', () => s.pane.line('echo "after=$?"'));
    await s.checkRestored();
  } finally {
    s.close();
  }
});
