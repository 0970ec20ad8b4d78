// Run one command on a server and print what it said.
//   node dist/examples/exec.js user@host[:port] 'uname -a' [~/.ssh/id_ed25519]
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { connect } from 'nacre';

const [target = '', command = 'uname -a', keyPath = `${homedir()}/.ssh/id_ed25519`] = process.argv.slice(2);
const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(target);
if (!m) {
  console.error('usage: exec.js user@host[:port] command [private-key]');
  process.exit(2);
}

const conn = await connect({
  host: m[2],
  port: Number(m[3] ?? 22),
  username: m[1],
  privateKey: readFileSync(keyPath),
  // Host keys are checked against ~/.ssh/known_hosts unless told otherwise.
  ...(process.env.NACRE_KNOWN_HOSTS ? { knownHosts: process.env.NACRE_KNOWN_HOSTS } : {}),
});
// try/finally runs on every Node; in TypeScript `await using conn = ...` closes it the same way.
try {
  const { stdout, stderr, code } = await conn.exec(command);
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = code ?? 1;
} finally {
  await conn.close();
}
