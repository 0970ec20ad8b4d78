// A stand-in for the `nacre` command in the interactive-session tests: it
// connects with the library and hands the session to src/cli/ssh/interactive.ts
// exactly as nacre does, so the tmux tests drive the real session code before
// (and independently of) nacre's argument handling. Its `~C` hook starts and
// cancels `-L` forwardings with client.forwardLocal, standing in for nacre's
// forwarding module (src/cli/ssh/forwardings.ts on the fwd branch). Usage: node term-session-entry.js <config.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type LocalForward } from '../../src/index.js';
import { runSession } from '../../src/cli/ssh/interactive.js';
import type { EscapeForwarding } from '../../src/cli/ssh/escape-command.js';

export interface EntryConfig {
  readonly port: number;
  readonly key: string;
  readonly user?: string;
  readonly command?: string;
  readonly pty: boolean;
  readonly stdinNull?: boolean;
  readonly escapeChar?: number | null;
  readonly quiet?: boolean;
  /** Written with this process's pid once the session runs. */
  readonly pidFile?: string;
  /** Throws an uncaught exception this long after the session started. */
  readonly throwAfterMs?: number;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as EntryConfig;
const client = await connect({
  host: '127.0.0.1',
  port: config.port,
  ...(config.user ? { username: config.user } : {}),
  privateKey: readFileSync(config.key),
  knownHosts: false,
  verifyHostKey: () => true,
});

const forwards = new Map<string, LocalForward>();
const forwarding: EscapeForwarding = {
  async command(line: string) {
    const add = /^-L (?:([^:]+):)?(\d+):([^:]+):(\d+)$/.exec(line);
    if (add) {
      const f = await client.forwardLocal({ localHost: add[1] ?? '127.0.0.1', localPort: Number(add[2]), remoteHost: add[3]!, remotePort: Number(add[4]) });
      forwards.set(String(f.port), f);
      return 'Forwarding port.';
    }
    const cancel = /^-KL (?:[^:]+:)?(\d+)$/.exec(line);
    if (cancel) {
      const f = forwards.get(cancel[1]!);
      if (!f) return 'Unknown port forwarding.';
      forwards.delete(cancel[1]!);
      await f.close();
      return 'Canceled forwarding.';
    }
    return 'Bad forwarding specification.';
  },
  list: () => [...forwards.keys()].map((p) => `-L 127.0.0.1:${p}`),
};

if (config.pidFile) writeFileSync(config.pidFile, String(process.pid));
if (config.throwAfterMs !== undefined) {
  setTimeout(() => {
    throw new Error('an uncaught exception in the middle of the session');
  }, config.throwAfterMs);
}
const status = await runSession(
  client,
  {
    host: '127.0.0.1',
    pty: config.pty,
    ...(config.command !== undefined ? { command: config.command } : {}),
    ...(config.stdinNull ? { stdinNull: true } : {}),
    ...(config.escapeChar !== undefined ? { escapeChar: config.escapeChar } : {}),
    ...(config.quiet ? { quiet: true } : {}),
  },
  { forwarding },
);
for (const f of forwards.values()) await f.close();
await client.close();
process.exitCode = status;
