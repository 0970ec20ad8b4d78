#!/usr/bin/env node
// nacre-sftp-server: Nacre's SFTP server on stdin and stdout, with
// sftp-server's flags, for `Subsystem sftp /path/to/nacre-sftp-server` (and
// the per-user process of nacred's internal-sftp).
import './common/heap-tuning.js';
import { runSftpServerProcess } from '../index.js';

runSftpServerProcess(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nacre-sftp-server: ${(e as Error).message}\n`);
    process.exitCode = 255;
  },
);
