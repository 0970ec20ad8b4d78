// Test-only stand-in for `nacre -W host:port` (the nacre command is built
// elsewhere): connects to 127.0.0.1:<port> with <key> and relays this
// process's stdin and stdout to <host>:<hostport> through runStdioForward.
// Used as OpenSSH's ProxyCommand by forwarding.test.ts.
import { connect } from '../../src/client/client.js';
import { runStdioForward } from '../../src/cli/ssh/stdio-forward.js';

const [port, keyPath, user, host, hostPort] = process.argv.slice(2);
const client = await connect({ host: '127.0.0.1', port: Number(port), username: user!, privateKeyFile: keyPath!, knownHosts: false, verifyHostKey: () => true });
const log = { error: (m: string) => process.stderr.write(m + '\n'), info: (m: string) => process.stderr.write(m + '\n'), debug: () => undefined };
const code = await runStdioForward(client, { kind: 'tcp', host: host!, port: Number(hostPort) }, process.stdin, process.stdout, log);
await client.close();
process.exit(code);
