// The server side of server-fd-limit.test.ts, run in a process of its own
// under a low descriptor limit (set with prlimit once it listens): it allows -L and -R forwarding,
// runs commands with runAsCurrentUser, prints its port, and logs server
// 'error' events to stderr.
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { startServer, passwordSecret } from './server-helpers.js';

const t = await startServer({
  authenticate: passwordSecret,
  forwardLocal: () => true,
  forwardRemote: () => true,
  session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }),
});
t.server.on('error', (e) => process.stderr.write(`server error: ${e.message}\n`));
process.stdout.write(`${t.port}\n`);
