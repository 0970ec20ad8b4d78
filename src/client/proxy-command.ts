// ProxyCommand: SSH runs over the stdin and stdout of a command run with
// `sh -c` (its stderr is ours, as with ssh). The command ends with the
// connection.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { DisconnectReason, NacreError } from '../errors.js';

/** The values of ProxyCommand's `%` tokens. */
export interface ProxyCommandTokens {
  /** %h: the host to reach. */
  readonly host: string;
  /** %p */
  readonly port: number;
  /** %r: the remote user name. */
  readonly user: string;
  /** %n: the host as the user wrote it (before HostName); default `host`. */
  readonly originalHost?: string;
}

/** Expands `%h %p %r %n %%`; another `%` sequence is an error, as in ssh. */
export function expandProxyCommand(command: string, t: ProxyCommandTokens): string {
  return command.replace(/%(.?)/gs, (_m, c: string) => {
    switch (c) {
      case 'h':
        return t.host;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'n':
        return t.originalHost ?? t.host;
      case '%':
        return '%';
      default:
        throw new NacreError(`ProxyCommand: unknown token %${c} in ${JSON.stringify(command)} (known: %h %p %r %n %%)`, DisconnectReason.BY_APPLICATION);
    }
  });
}

export interface ProxyTransport {
  readonly stream: Duplex;
  /** Kills the command (SIGHUP, as ssh) if it still runs. */
  dispose(): void;
}

/** Starts `command` (already expanded) and returns its stdio as one byte stream. */
export function startProxyCommand(command: string, shell = '/bin/sh'): ProxyTransport {
  const child = spawn(shell, ['-c', command], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    // The command ending is the transport ending; say why if it failed.
    if (code !== 0 && code !== null && !stream.destroyed) {
      stream.destroy(new NacreError(`ProxyCommand ${JSON.stringify(command)} exited with status ${code}`, DisconnectReason.CONNECTION_LOST));
    } else if (signal && !stream.destroyed) stream.destroy();
  });
  child.once('error', (err) => stream.destroy(new NacreError(`cannot run ProxyCommand ${JSON.stringify(command)}: ${err.message}`, DisconnectReason.CONNECTION_LOST, { cause: err })));
  // A write to a command that exited is EPIPE: the connection ends through 'exit' instead.
  child.stdin.on('error', () => undefined);
  return {
    stream,
    dispose() {
      if (!exited) child.kill('SIGHUP');
      stream.destroy();
    },
  };
}
