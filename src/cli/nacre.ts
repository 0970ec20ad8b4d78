#!/usr/bin/env node
// The `nacre` command (package.json "bin"): ssh(1)'s command line over
// Nacre's client. Runs the tool on the process's arguments, streams and
// terminal, and ends the process once its output is written (standard input
// may still hold the event loop open).
import './common/heap-tuning.js';
import { exitAfterOutput, localUserName, processIo, runMain } from './common/io.js';
import { rawArguments } from './common/raw-argv.js';
import { nacreMain } from './ssh/main.js';

const code = await runMain(
  (args, io) =>
    nacreMain(args, io, {
      env: process.env,
      localUser: localUserName(),
      session: {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        stdinIsTty: process.stdin.isTTY === true,
        ...(process.env.TERM ? { term: process.env.TERM } : {}),
        ...(process.stdout.columns ? { columns: process.stdout.columns, rows: process.stdout.rows } : {}),
      },
    }),
  // The bytes typed: a remote command may name a file whose name is not UTF-8.
  rawArguments(),
  processIo(),
);
exitAfterOutput(code);
