// Keys typed at nacre-sftp's prompt while a command still runs (type-ahead)
// are kept, and the next prompt is drawn with the cursor after them, as at a
// terminal: readline's prompt() put the cursor back at the start of the
// screen line while the keys still went to its end, so what was typed next
// showed over the typed-ahead text. The command is held on a remote request the test
// releases, and the next key is sent only once the prompt is on screen, so
// nothing depends on timing. The bytes typed ahead include one that is not
// UTF-8 (the terminal input's decoding, terminal-input.ts), checked through
// ls's message naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { runSftpSession, type SessionStreams } from '../../src/cli/sftp/session.js';
import { parseSftpArgs } from '../../src/cli/sftp/args.js';
import type { RemoteFs } from '../../src/cli/sftp/remote.js';
import type { CliIo } from '../../src/cli/common/io.js';

test('type-ahead during a command stays at the start of the next line; later keys follow it', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let asked!: () => void;
  const askedHeld = new Promise<void>((r) => (asked = r));
  const remote = {
    realpath: async (p: string) => {
      if (p === '.') return '/home/u';
      asked();
      await held;
      return p;
    },
    stat: async (p: string) => {
      if (p === '/x') return { mode: 0o040755 };
      throw Object.assign(new Error('no such file'), { status: 2 });
    },
    lstat: async () => {
      throw Object.assign(new Error('no such file'), { status: 2 });
    },
    version: 3,
    extensions: new Map(),
  } as unknown as RemoteFs;
  let out = '';
  let err = '';
  const io = {
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
    stdin: () => Readable.from([]),
    readLine: () => null,
    readPassphrase: async () => '',
    now: () => new Date(0),
  } as unknown as CliIo;
  const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode(mode: boolean) { stdin.isRaw = mode; } });
  let screen = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: false, columns: 80 });
  stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const prompts = (): number => screen.split('sftp> ').length - 1;
  const promptNumber = async (n: number): Promise<void> => {
    while (prompts() < n) await new Promise((r) => setImmediate(r));
  };
  const streams: SessionStreams = { stdin, stdout, stderr: new PassThrough(), env: {} };
  const session = runSftpSession(remote, parseSftpArgs(['host']), io, streams);
  await promptNumber(1);
  stdin.write('cd /x\r');
  await askedHeld;
  // Typed while cd waits for the server (readline echoes it: it has been read).
  stdin.write(Buffer.from([0x6c, 0x73, 0x20, 0x78, 0xff]));
  while (!screen.includes('ls x')) await new Promise((r) => setImmediate(r));
  const before = prompts();
  release();
  await promptNumber(before + 1);
  stdin.write('y\r');
  stdin.write('bye\r');
  assert.equal(await session, 0);
  // The line was `ls x\377y` (the byte kept) ...
  assert.equal(err, "Can't ls: \"/x/x\\377y\" not found\n");
  // ... and the terminal showed it so: the prompt drawn again with the cursor
  // after the typed-ahead text (column 15: the byte drawn as `\377`), where
  // `y` then appeared, not back at column 7 (where `y` would have covered
  // the `l` on the screen).
  assert.ok(screen.includes('sftp> ls x\\377\x1b[15Gy'), JSON.stringify(screen));
  void out;
});
