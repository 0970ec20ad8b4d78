#!/usr/bin/env node
// The `nacre-keygen` command (package.json "bin"): runs the tool on the
// process's arguments, streams and terminal.
import { runTool } from './common/io.js';
import { keygenMain } from './keygen.js';

await runTool(keygenMain);
