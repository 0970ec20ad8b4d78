// Run as a user other than root (the test starts it through setpriv as
// nobody): a server asked to run a session as root must refuse it with a
// PrivilegeError, never run the program as itself. Prints one JSON line.
import { startServer, passwordSecret } from './server-helpers.js';
import { runAsUser } from '../../src/server/run-as-user.js';

const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsUser(s, { user: 'root' }) });
const errors: string[] = [];
t.server.on('error', (e) => errors.push(`${e.name}: ${e.message}`));
let ran: string | null = null;
try {
  const c = await t.connect({ password: 'secret' });
  ran = (await c.exec('id -u')).stdout;
} catch (e) {
  // refused, as it must be
  errors.push(`client: ${String(e)}`);
} finally {
  await t.close();
}
console.log(JSON.stringify({ uid: process.geteuid?.(), ran, errors }));
