#!/usr/bin/env node
// The `nacre-scp` command (package.json "bin"): scp(1)'s command line over
// SFTP, with Nacre's client making the connections. Runs the tool on the
// process's arguments and streams, and ends the process once its output is
// written.
import { userInfo } from 'node:os';
import { runMain, processIo } from './common/io.js';
import { scpMain } from './scp/main.js';

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

const code = await runMain((args, io) => scpMain(args, io, { env: process.env, localUser: localUser() }), process.argv.slice(2), processIo());
// Flush both streams, then exit: open handles (a paused stdin) must not keep the process alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
