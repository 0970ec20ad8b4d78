// One line from a file descriptor, read a byte at a time so that nothing
// after the line is consumed (the next prompt, or data to sign, follows it).
import { readSync } from 'node:fs';

const MAX_LINE_BYTES = 8192;

export function readLineFromFd(fd: number): string | null {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, one, 0, 1, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A non-blocking stdin with nothing yet: wait a moment and retry.
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (code === 'EOF') n = 0;
      else throw err;
    }
    if (n === 0) return bytes.length > 0 ? Buffer.from(bytes).toString('utf8') : null;
    if (one[0] === 0x0a) return Buffer.from(bytes).toString('utf8').replace(/\r$/, '');
    bytes.push(one[0]!);
    if (bytes.length >= MAX_LINE_BYTES) return Buffer.from(bytes).toString('utf8');
  }
}
