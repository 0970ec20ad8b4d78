// Imported first by every bin that moves bulk data (nacred, nacre,
// nacre-sftp, nacre-scp, nacre-sftp-server, npm start), for its effect.
// Every MiB such a process moves is about two MiB of short-lived
// ArrayBuffers (node:crypto's output per packet, a buffer per socket or
// pipe read). V8 counts them against the old generation's limit, which it
// keeps at 1.1× a heap this small, so they started a full mark-compact
// every 5-11 MiB (a quarter of the CPU of a download). Letting the old
// generation grow to 5× its live size leaves the young collections room to
// free them first: 30-41 mark-compacts per 512 MiB of -L download became 2,
// and nacred's CPU per MiB fell by a third (docs/PERFORMANCE.md, section 7,
// round 3). The library itself leaves process-wide V8 settings alone.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--heap-growing-percent=400');
