#!/usr/bin/env node
// The `nacred` command (package.json "bin"): sshd(8)'s command line and
// sshd_config over Nacre's server. Small on purpose: the server code loads
// only when it runs (`nacred -V` or a usage error answers at once).
// `nacred passwd ...` manages the password file (src/cli/sshd/passwd.ts).
import './common/heap-tuning.js';
import { exitAfterOutput, processIo, runMain } from './common/io.js';

const argv = process.argv.slice(2);
const io = processIo();
let code: number;
if (argv[0] === 'passwd') {
  const { runPasswd } = await import('./sshd/passwd.js');
  code = await runMain((args, cio) => runPasswd(args, cio), argv.slice(1), io);
} else {
  const { nacredMain } = await import('./sshd/main.js');
  code = await runMain((args, cio) => nacredMain(args, cio, { stdin: process.stdin, stdout: process.stdout }), argv, io);
}
exitAfterOutput(code);
