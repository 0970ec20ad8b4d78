#!/usr/bin/env node
// The `nacre-scp` command (package.json "bin"): scp(1)'s command line over
// SFTP, with Nacre's client making the connections. Runs the tool on the
// process's arguments and streams, and ends the process once its output is
// written.
import './common/heap-tuning.js';
import { rawArguments } from './common/raw-argv.js';
import { exitAfterOutput, localUserName, processIo, runMain } from './common/io.js';
import { scpMain } from './scp/main.js';

const code = await runMain((args, io) => scpMain(args, io, { env: process.env, localUser: localUserName() }), rawArguments(), processIo());
exitAfterOutput(code);
