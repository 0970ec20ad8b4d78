#!/usr/bin/env node
// The `nacred` command (package.json "bin"): sshd(8)'s command line and
// sshd_config over Nacre's server. Small on purpose: the server code loads
// only when it runs (`nacred -V` or a usage error answers at once).
// `nacred passwd ...` manages the password file (src/cli/sshd/passwd.ts).
import { setFlagsFromString } from 'node:v8';
import { exitAfterOutput, processIo, runMain } from './common/io.js';

const argv = process.argv.slice(2);
const io = processIo();
let code: number;
if (argv[0] === 'passwd') {
  const { runPasswd } = await import('./sshd/passwd.js');
  code = await runMain((args, cio) => runPasswd(args, cio), argv.slice(1), io);
} else {
  // Every MiB the daemon moves is about two MiB of short-lived ArrayBuffers
  // (node:crypto's output per packet, a buffer per socket or pipe read). V8
  // counts them against the old generation's limit, which it keeps at 1.1×
  // a heap this small, so they started a full mark-compact every 5-11 MiB
  // (a quarter of the CPU of a download). Letting the old generation grow to
  // 5× its live size leaves the young collections room to free them first:
  // 30-41 mark-compacts per 512 MiB of -L download became 2, and nacred's
  // CPU per MiB fell by a third (docs/PERFORMANCE.md, section 7, round 3).
  setFlagsFromString('--heap-growing-percent=400');
  const { nacredMain } = await import('./sshd/main.js');
  code = await runMain((args, cio) => nacredMain(args, cio, { stdin: process.stdin, stdout: process.stdout }), argv, io);
}
exitAfterOutput(code);
