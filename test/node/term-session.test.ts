// runSession (src/cli/ssh/interactive.ts) against Nacre's own server, with
// a fake local terminal and streams: what the pty-req carries, raw mode
// entered once and left on every way out, window changes, each escape's
// effect on the wire (break, rekey) or on the hooks (~C, ~#, ~v), suspend,
// signals from outside and a lost connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { EventEmitter, once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { startServer, delay } from './server-helpers.js';
import { runSession, type SessionIo, type SessionHooks } from '../../src/cli/ssh/interactive.js';
import type { TerminalControl } from '../../src/cli/ssh/interactive-terminal.js';
import type { PtyInfo, WindowSize, ServerChannel } from '../../src/server/session-channel.js';

interface FakeTerminal extends TerminalControl {
  readonly calls: string[];
  cols: number;
  rows: number;
  resize(cols: number, rows: number): void;
}

function fakeTerminal(): FakeTerminal {
  const events = new EventEmitter();
  const t: FakeTerminal = {
    calls: [],
    cols: 100,
    rows: 30,
    settings: () => ({ modes: { ECHO: 1, ICANON: 1, VINTR: 3 }, rows: 30, cols: 100 }),
    size: () => ({ cols: t.cols, rows: t.rows }),
    enterRaw: () => void t.calls.push('raw'),
    leaveRaw: () => void t.calls.push('cooked'),
    onResize(listener) {
      events.on('resize', listener);
      return () => void events.off('resize', listener);
    },
    suspend: () => void t.calls.push('suspend'),
    resize(cols, rows) {
      t.cols = cols;
      t.rows = rows;
      events.emit('resize');
    },
  };
  return t;
}

interface Fake {
  readonly io: SessionIo;
  readonly terminal: FakeTerminal;
  readonly stdin: PassThrough;
  out(): string;
  err(): string;
  signal(name: NodeJS.Signals): void;
}

function fakeIo(withTerminal = true): Fake {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const signals = new EventEmitter();
  const terminal = fakeTerminal();
  return {
    terminal,
    stdin,
    out: () => out,
    err: () => err,
    signal: (name) => signals.emit('signal', name),
    io: {
      stdin,
      stdout,
      stderr,
      terminal: withTerminal ? terminal : null,
      onSignal(listener) {
        signals.on('signal', listener);
        return () => void signals.off('signal', listener);
      },
      onExit: () => () => undefined,
    },
  };
}

interface Seen {
  pty: PtyInfo | null;
  sizes: WindowSize[];
  breaks: number[];
  channel: ServerChannel | null;
}

/** A server whose shell echoes what it reads and exits with the status typed as `exit N\r`. */
async function echoShellServer() {
  const seen: Seen = { pty: null, sizes: [], breaks: [], channel: null };
  const t = await startServer({
    authenticate: () => true,
    session: (s) => {
      s.onPty = (p) => void (seen.pty = p);
      s.onWindowChange = (w) => void seen.sizes.push(w);
      s.onBreak = (ms) => void seen.breaks.push(ms);
      s.onShell = (ch) => {
        seen.channel = ch;
        let line = '';
        ch.on('data', (d: Buffer) => {
          ch.write(d);
          line += d.toString();
          const m = /exit (\d+)\r/.exec(line);
          if (m) ch.exit(Number(m[1]));
        });
      };
      s.onExec = (command, ch) => {
        ch.end(`ran ${command}\n`);
        ch.exit(0);
      };
    },
  });
  return { t, seen };
}

test('the pty-req carries TERM, size and modes; raw mode is entered once and left at the end; the status comes back', async () => {
  const { t, seen } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h', term: 'xterm-test' }, {}, f.io);
    f.stdin.write('hello\rexit 5\r');
    assert.equal(await running, 5);
    assert.equal(seen.pty?.term, 'xterm-test');
    assert.equal(seen.pty?.cols, 100);
    assert.equal(seen.pty?.rows, 30);
    assert.deepEqual(seen.pty?.modes, { ECHO: 1, ICANON: 1, VINTR: 3 });
    assert.equal(f.out(), 'hello\rexit 5\r');
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked']);
    assert.equal(f.err(), 'Connection to h closed.\r\n');
  } finally {
    await t.close();
  }
});

test('window changes reach the server; ~B sends a break of 1000 ms; ~R rekeys', async () => {
  const { t, seen } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h' }, {}, f.io);
    const rekeyed = new Promise((r) => client.once('rekey', r));
    await delay(50);
    f.terminal.resize(120, 40);
    f.stdin.write('~B~R');
    await rekeyed;
    f.stdin.write('exit 0\r');
    assert.equal(await running, 0);
    assert.deepEqual(seen.sizes.map((s) => [s.cols, s.rows]), [[120, 40]]);
    assert.deepEqual(seen.breaks, [1000]);
    assert.match(f.err(), /^~B\r\n(?!~R)/);
  } finally {
    await t.close();
  }
});

test('~C hands the normalized line to the forwarding hook with the terminal cooked; ~# lists; ~v/~V ask the hook; ~? helps; ~& without a hook passes through, as in ssh\'s mux client', async () => {
  const { t } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  const lines: string[] = [];
  const levels: number[] = [];
  const hooks: SessionHooks = {
    forwarding: {
      command: async (line) => {
        lines.push(line);
        return 'Forwarding port.';
      },
      list: () => ['-L 127.0.0.1:8080 -> example.com:80'],
    },
    changeLogLevel: (step) => {
      levels.push(step);
      return step > 0 ? 'DEBUG1' : 'INFO';
    },
  };
  try {
    const running = runSession(client, { pty: true, host: 'h' }, hooks, f.io);
    f.stdin.write('~C  L8080:example.com:80\r');
    await delay(100);
    f.stdin.write('~C-x\r~#~v~V~?~&exit 0\r');
    assert.equal(await running, 0);
    assert.deepEqual(lines, ['-L 8080:example.com:80']);
    assert.deepEqual(levels, [1, -1]);
    const err = f.err();
    assert.ok(err.includes('\r\nssh>   L8080:example.com:80\r\nForwarding port.\n'), err);
    assert.ok(err.includes('Invalid command.\r\n'));
    assert.ok(err.includes('~#\r\nThe following connections are open:\r\n  #'));
    assert.ok(err.includes('  -L 127.0.0.1:8080 -> example.com:80\r\n'));
    assert.ok(err.includes('~v [LogLevel DEBUG1]\r\n~V [LogLevel INFO]\r\n'));
    assert.ok(err.includes('Supported escape sequences:'));
    // No ~& line in the help: this session cannot go to the background.
    assert.ok(!err.includes(' ~&   - background'), err);
    // Raw, cooked for the forwarding command, raw again, cooked at the end.
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked', 'raw', 'cooked']);
    // Only the shell's own bytes reached it, and the ~& nacre cannot carry out.
    assert.equal(f.out(), '~&exit 0\r');
  } finally {
    await t.close();
  }
});

test('~C !command runs the local command hook with the terminal cooked (PermitLocalCommand); without the hook ! is invalid', async () => {
  const { t } = await echoShellServer();
  const client = await t.connect();
  const run = async (hooks: SessionHooks) => {
    const f = fakeIo();
    const running = runSession(client, { pty: true, host: 'h' }, hooks, f.io);
    f.stdin.write('~C!echo local\r');
    await delay(100);
    f.stdin.write('~Ch\r');
    await delay(50);
    f.stdin.write('exit 0\r');
    assert.equal(await running, 0);
    return f;
  };
  try {
    const ran: string[] = [];
    const allowed = await run({ localCommand: async (c) => void ran.push(c) });
    assert.deepEqual(ran, ['echo local']);
    assert.deepEqual(allowed.terminal.calls, ['raw', 'cooked', 'raw', 'cooked']);
    assert.ok(allowed.err().includes('      !args                                  Execute local command\r\n'), allowed.err());
    const refused = await run({});
    assert.ok(refused.err().includes('Invalid command.\r\n'));
    assert.ok(!refused.err().includes('!args'));
  } finally {
    await t.close();
  }
});

test('~^Z leaves raw mode, suspends, goes raw again and re-sends the window size', async () => {
  const { t, seen } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h' }, {}, f.io);
    f.stdin.write('~\x1a');
    await delay(50);
    f.stdin.write('exit 0\r');
    assert.equal(await running, 0);
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked', 'suspend', 'raw', 'cooked']);
    assert.equal(seen.sizes.length, 1);
    assert.match(f.err(), /^~\^Z \[suspend ssh\]\r\n/);
  } finally {
    await t.close();
  }
});

test('a signal from outside ends the session with 255 and leaves raw mode; -q drops the closing message', async () => {
  const { t } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h', quiet: true }, {}, f.io);
    await delay(50);
    f.signal('SIGTERM');
    assert.equal(await running, 255);
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked']);
    assert.equal(f.err(), '');
  } finally {
    await t.close();
  }
});

test('the connection lost mid-session: 255 and "closed by remote host"', async () => {
  const { t } = await echoShellServer();
  const sock = netConnect(t.port, '127.0.0.1');
  await once(sock, 'connect');
  const client = await t.connect({ sock });
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h' }, {}, f.io);
    await delay(50);
    // The server's side ends without a DISCONNECT.
    sock.push(null);
    assert.equal(await running, 255);
    assert.match(f.err(), /Connection to h closed by remote host\.\r\nConnection to h closed\.\r\n$/);
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked']);
  } finally {
    sock.destroy();
    await t.close().catch(() => undefined);
  }
});

test("the server's DISCONNECT mid-session: 255, and the session says nothing (ssh's two lines with the reason are nacre's, connection-flow.ts)", async () => {
  const { t } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h' }, {}, f.io);
    await delay(50);
    await t.server.close();
    assert.equal(await running, 255);
    assert.equal(f.err(), '');
    assert.deepEqual(f.terminal.calls, ['raw', 'cooked']);
  } finally {
    await t.close().catch(() => undefined);
  }
});

test('EnableEscapeCommandline no: ~C answers "commandline disabled" and the help leaves it out', async () => {
  const { t } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const running = runSession(client, { pty: true, host: 'h', escapeCommandLine: false }, {}, f.io);
    f.stdin.write('~C~?exit 0\r');
    assert.equal(await running, 0);
    assert.match(f.err(), /^commandline disabled\r\n~\?\r\n/);
    assert.ok(!f.err().includes('open a command line'));
  } finally {
    await t.close();
  }
});

test('a command without a PTY: no raw mode, no escapes, stdout relayed', async () => {
  const { t, seen } = await echoShellServer();
  const client = await t.connect();
  const f = fakeIo();
  try {
    const status = await runSession(client, { pty: false, host: 'h', command: 'true', stdinNull: true }, {}, f.io);
    assert.equal(status, 0);
    assert.equal(f.out(), 'ran true\n');
    assert.deepEqual(f.terminal.calls, []);
    assert.equal(seen.pty, null);
    assert.equal(f.err(), '');
  } finally {
    await t.close();
  }
});
