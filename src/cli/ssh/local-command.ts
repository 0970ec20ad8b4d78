// `!command` at the `~C` prompt under PermitLocalCommand yes, as ssh's
// ssh_local_cmd(): `$SHELL -c command` (/bin/sh without SHELL) on the
// terminal nacre runs on, waited for; its status is not reported.
import { spawn } from 'node:child_process';

/** Runs `command` through the user's shell with nacre's own standard streams; resolves when it ends. */
export function runLocalCommand(command: string, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  // ssh runs nothing for an empty command.
  if (command === '') return Promise.resolve();
  const shell = env.SHELL || '/bin/sh';
  return new Promise((resolve) => {
    const child = spawn(shell, ['-c', command], { stdio: 'inherit', env: { ...env } });
    child.on('error', (err) => {
      process.stderr.write(`Couldn't execute ${shell} -c "${command}": ${err.message}\r\n`);
      resolve();
    });
    child.on('close', () => resolve());
  });
}
