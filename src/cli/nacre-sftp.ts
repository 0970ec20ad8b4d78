#!/usr/bin/env node
// The `nacre-sftp` command (package.json "bin"): sftp(1)'s command line and
// command language over Nacre's SSH client and SFTP client. Runs the tool on
// the process's arguments and streams, then ends the process once its
// output is written (standard input may still hold the event loop open).
import './common/heap-tuning.js';
import { rawArguments } from './common/raw-argv.js';
import { exitAfterOutput, localUserName, processIo, runMain } from './common/io.js';
import { sftpMain } from './sftp/main.js';

const code = await runMain((args, io) => sftpMain(args, io, { env: process.env, localUser: localUserName() }), rawArguments(), processIo());
exitAfterOutput(code);
