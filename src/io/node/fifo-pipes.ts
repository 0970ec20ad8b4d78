// A pipe for a child's stdout, as sshd gives its programs, instead of the Unix
// socket pair Node's `stdio: 'pipe'` makes. Moving bulk data through a pipe
// costs both sides less: `head -c 1G /dev/zero` into a socket pair and read by
// Node took 0.61–0.70 ms of head's CPU and 0.63–0.73 of the reader's per MiB
// here, into a pipe 0.41–0.46 and 0.45–0.57 (the kernel's socket buffers and
// wake-ups against a pipe's pages). stdin stays a socket pair: a pipe there
// made no measurable difference to uploads.
//
// Node has no pipe() call, so the pipes are named FIFOs in a private directory
// (mode 0700, under os.tmpdir(), named with the process id and its pid
// namespace; removed at exit, or by a later process of the same namespace when
// this one was killed): a FIFO opened at both
// ends and unlinked at once is a pipe no one else can open. Making them costs a process (mkfifo(1)),
// so they are made in batches ahead of need; when none is ready (the first
// program, or mkfifo missing) the caller falls back to Node's socket pairs.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, fchmodSync, fstatSync, lstatSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A pipe for a child's stdout. */
export interface ChildPipe {
  /** The child's end (blocking, as programs expect): pass it in `stdio`, close it here once spawned. */
  readonly childFd: number;
  /** Our end, the reading one, as a stream. */
  readonly stream: Socket;
}

/** By its full path, as the server's other helpers (getent, setpriv): never whatever PATH finds first. */
const MKFIFO = '/usr/bin/mkfifo';
/** FIFOs one mkfifo process makes. */
const BATCH = 16;
/** Make the next batch when fewer than this are ready. */
const LOW_WATER = 4;

/** undefined: not made yet; null: FIFOs are unavailable here (the caller uses socket pairs). */
let directory: string | null | undefined;
const ready: string[] = [];
let refilling = false;
let made = 0;

const PREFIX = 'nacre-pipes-';
/** Marks the pid namespace's part of a directory name: `nacre-pipes-ns4026531836-PID-XXXXXX`. */
const NS_MARK = 'ns';

/**
 * This process's pid namespace (the inode of /proc/self/ns/pid), or null
 * when it cannot be read (no /proc). A pid means something only inside its
 * namespace: processes in containers sharing one /tmp can have the same pids.
 */
export function pidNamespace(): string | null {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'));
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

/** The start of our directories' names: with the namespace when known. */
function namePrefix(namespace: string | null, pid: number): string {
  return namespace === null ? `${PREFIX}${pid}-` : `${PREFIX}${NS_MARK}${namespace}-${pid}-`;
}

function ensureDirectory(): string | null {
  if (directory !== undefined) return directory;
  try {
    const base = tmpdir();
    const namespace = pidNamespace();
    removeStaleDirectories(base, namespace);
    // mkdtemp makes the directory with mode 0700 under a name no one can guess.
    const dir = mkdtempSync(join(base, namePrefix(namespace, process.pid)));
    directory = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  } catch {
    directory = null;
  }
  return directory;
}

/**
 * The pid in a directory name of ours made in `namespace` (null: made where
 * the namespace could not be read, the name without one), or null when the
 * name is not such a directory's.
 */
function stalePid(name: string, namespace: string | null): number | null {
  if (!name.startsWith(PREFIX)) return null;
  let rest = name.slice(PREFIX.length);
  if (namespace !== null) {
    const mark = `${NS_MARK}${namespace}-`;
    if (!rest.startsWith(mark)) return null;
    rest = rest.slice(mark.length);
  }
  const field = rest.split('-')[0]!;
  // Digits only: a name with another namespace's part (or an older form) is not ours to judge.
  if (!/^\d+$/.test(field)) return null;
  const pid = Number(field);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * @internal Removes the directories of processes that died without their
 * exit handler (killed by a signal they did not handle): ours (same owner, a
 * real directory, not a link), made in the same pid namespace (`namespace`,
 * see pidNamespace; null: only those named without one), named with a pid
 * that no longer runs there. Another namespace's are left alone: its pids
 * cannot be checked from here.
 */
export function removeStaleDirectories(base: string, namespace: string | null): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const pid = stalePid(name, namespace);
    if (pid === null || pid === process.pid || running(pid)) continue;
    const path = join(base, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Settles when the batch being made is ready (true) or could not be made (false). */
let refillDone: Promise<boolean> = Promise.resolve(false);

function refill(): void {
  if (refilling) return;
  const dir = ensureDirectory();
  if (dir === null) return;
  const paths: string[] = [];
  for (let i = 0; i < BATCH; i++) paths.push(join(dir, `p${made++}`));
  let child: ChildProcess;
  try {
    child = spawn(MKFIFO, ['-m', '600', '--', ...paths], { stdio: 'ignore' });
  } catch {
    return; // out of descriptors or processes: the next take tries again
  }
  refilling = true;
  refillDone = new Promise((settle) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      refilling = false;
      // No mkfifo here (ENOENT), or not allowed to run it: socket pairs from
      // now on. Anything else (EAGAIN, EMFILE: no process or descriptor just
      // now) leaves the next take to try again.
      if (err.code === 'ENOENT' || err.code === 'EACCES') directory = null;
      settle(false);
    });
    child.once('exit', (code) => {
      refilling = false;
      if (code === 0) {
        ready.push(...paths);
        settle(true);
        return;
      }
      // Some may exist (a full disk midway): those go. A mkfifo that failed
      // (code 1) stops the FIFOs; one killed by a signal (null) does not.
      for (const p of paths) rmSync(p, { force: true });
      if (code !== null) directory = null;
      settle(false);
    });
  });
}

function nextFifo(): string | null {
  if (ready.length < LOW_WATER) refill();
  return ready.pop() ?? null;
}

const RDONLY = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW;
const WRONLY = fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW;
const NONBLOCK = fsConstants.O_NONBLOCK;

/**
 * Opens both ends of a fresh FIFO (the first without waiting for the other
 * side: a read end opens at once with O_NONBLOCK, and a write end opens at
 * once when a reader exists) and unlinks it. Null when none is ready or
 * opening failed (out of descriptors).
 */
function openFifo(firstFlags: number, secondFlags: number): [number, number] | null {
  const path = nextFifo();
  if (path === null) return null;
  let first = -1;
  let second = -1;
  try {
    first = openSync(path, firstFlags);
    // Only a FIFO we made: the directory is ours alone, but check what we opened.
    if (!fstatSync(first).isFIFO()) throw new Error('not a FIFO');
    second = openSync(path, secondFlags);
    unlinkSync(path);
    // Unlinked, it is reachable only through /proc/PID/fd of a process
    // holding it, i.e. by its own user or root. Open to all there, so that a
    // program started as another user (runAsUser) can open /dev/stdout, as
    // it can under sshd, whose pipes are made by the user's own process.
    fchmodSync(first, 0o666);
    return [first, second];
  } catch {
    for (const fd of [first, second]) if (fd >= 0) closeSync(fd);
    rmSync(path, { force: true });
    return null;
  }
}

/**
 * One buffer every output pipe reads into (Node's `onread`): reads run one at
 * a time on the event loop, and each reader is done with the bytes (or has
 * copied them) when its callback returns. A pipe holds 64 KiB.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * A pipe the child writes (its stdout): we read. Null: use `stdio: 'pipe'`.
 * With `onData` the stream emits no 'data': each read comes to `onData` in
 * a buffer that is reused once it returns (no fresh buffer per read). It
 * returns false to stop reading, and then `pause()`s the stream, which
 * `resume()` starts again. 'end' and 'close' come as usual.
 */
export function outputPipe(onData?: (bytes: Uint8Array) => boolean): ChildPipe | null {
  const fds = openFifo(RDONLY | NONBLOCK, WRONLY);
  if (!fds) return null;
  const [ours, childFd] = fds;
  if (!onData) return { childFd, stream: new Socket({ fd: ours, readable: true, writable: false }) };
  // `onread` is an option of `new net.Socket()` in Node's documentation (v15.8+); @types/node lists it for connect() only.
  const options: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd: ours,
    readable: true,
    writable: false,
    onread: { buffer: READ_BUFFER, callback: (n, buf) => onData(buf.subarray(0, n)) },
  };
  const stream = new Socket(options);
  // Reading starts in flowing mode, and only then do 'end' and 'close' come.
  stream.resume();
  return { childFd, stream };
}

/**
 * Makes the next batch now if few are ready, so that the first program can
 * have pipes too. Resolves true once some are ready, false when pipes are
 * not to be had here (no mkfifo, no writable temporary directory).
 */
export function preparePipes(): Promise<boolean> {
  if (ready.length < LOW_WATER) refill();
  return ready.length > 0 ? Promise.resolve(true) : refilling ? refillDone : Promise.resolve(false);
}
