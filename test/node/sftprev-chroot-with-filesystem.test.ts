// Review reproduction (issue 13): internalSftp's `chrootDirectory` is
// documented (docs/API.md, runAsUser's internalSftp) to confine
// internal-sftp, yet when `fileSystem` is also given the in-process session
// (server running as the user) serves that file system with the root
// dropped: internal.ts inProcess() calls options.fileSystem(start, account)
// and never passes `root`. The session is silently unconfined. Either the
// factory must get the root (and the docs say it must confine), or the pair
// must be refused as a configuration error; the pair is refused (ChrootError).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { ChrootError, startInternalSftp } from '../../src/server/sftp/internal.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import type { ServerChannel, SessionChannel } from '../../src/server/session-channel.js';

test('internal-sftp with chrootDirectory and fileSystem: never silently unconfined', async () => {
  const channel = Duplex.from({ readable: new PassThrough(), writable: new PassThrough() }) as unknown as ServerChannel;
  const session = { remoteAddress: '127.0.0.1' } as unknown as SessionChannel;
  const account = { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' };
  let factoryCalls = 0;
  const options = {
    chrootDirectory: '/usr', // root-owned, 0755 all the way: passes sshd's checks
    fileSystem: () => {
      factoryCalls++;
      return new MemoryFileSystem();
    },
  };
  let running: { hangup(): void } | undefined;
  try {
    running = await startInternalSftp([], channel, session, account, 'same-user', options);
  } catch (e) {
    // refused before the factory runs, as a configuration error
    assert.ok(e instanceof ChrootError, String(e));
    assert.match((e as Error).message, /chrootDirectory and a fileSystem factory cannot be combined/);
    assert.equal(factoryCalls, 0);
    return;
  }
  running.hangup();
  assert.fail(`the session started unconfined on the application's file system (factory called ${factoryCalls}x, root /usr dropped)`);
});
