// The sftp tool draws its progress meter on standard output (as OpenSSH's
// sftp does), so whether to draw it depends on standard output being a
// terminal, not standard error. Checked through the `progress` command's
// answer: it toggles the state the session started with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { runSftpSession, type SessionStreams } from '../../src/cli/sftp/session.js';
import { parseSftpArgs } from '../../src/cli/sftp/args.js';
import type { RemoteFs } from '../../src/cli/sftp/remote.js';
import type { CliIo } from '../../src/cli/common/io.js';

async function progressAnswer(stdoutTty: boolean, stderrTty: boolean): Promise<string> {
  const remote = { realpath: async () => '/home/u', version: 3, extensions: new Map() } as unknown as RemoteFs;
  let out = '';
  const io = {
    out: (t: string) => void (out += t),
    err: () => undefined,
    stdin: () => Readable.from([]),
    readLine: () => null,
    readPassphrase: async () => '',
    now: () => new Date(0),
  } as unknown as CliIo;
  const stdout = Object.assign(new PassThrough(), { isTTY: stdoutTty, columns: 80 });
  const stderr = Object.assign(new PassThrough(), { isTTY: stderrTty });
  const streams: SessionStreams = { stdin: Readable.from(['progress\n']), stdout, stderr, env: {} };
  await runSftpSession(remote, parseSftpArgs(['host']), io, streams);
  return out;
}

test('the progress meter starts on when standard output is a terminal, whatever standard error is', async () => {
  assert.match(await progressAnswer(true, false), /Progress meter disabled/);
});

test('the progress meter starts off when standard output is not a terminal, even if standard error is', async () => {
  assert.match(await progressAnswer(false, true), /Progress meter enabled/);
});
