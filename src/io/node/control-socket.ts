// The control socket's file-system side, as OpenSSH handles it: the master
// binds a private temporary name and link()s it to the ControlPath, so two
// masters starting at once cannot both win and nobody ever sees a socket that
// is not 0600; a client refuses a socket another user owns, and tells a stale
// socket (nobody listening) from a missing one, so ControlMaster=auto can
// remove it and take over.
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, unlinkSync, chmodSync, statSync } from 'node:fs';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { DisconnectReason, NacreError } from '../../errors.js';

export type ControlSocketProblem =
  /** Nothing at the path. */
  | 'missing'
  /** A socket nobody listens on (its master died). */
  | 'stale'
  /** Another master holds the path. */
  | 'in-use'
  /** The path or its directory is not private enough, or not a socket. */
  | 'unsafe'
  | 'failed';

export class ControlSocketError extends NacreError {
  constructor(
    message: string,
    readonly problem: ControlSocketProblem,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, DisconnectReason.BY_APPLICATION, options);
  }
}

/** sun_path is 108 bytes on Linux, 104 on the BSDs; ssh refuses longer paths the same way. */
const MAX_SOCKET_PATH = 104;

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/**
 * The directory may be group- or world-writable only if it is sticky (as
 * /tmp): otherwise another user could replace our socket with theirs.
 */
function checkDirectory(path: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new ControlSocketError(`ControlPath directory ${dir}: ${(err as Error).message}`, 'failed', path, { cause: err });
  }
  const me = uid();
  const writableByOthers = (st.mode & 0o022) !== 0;
  if (writableByOthers && (st.mode & 0o1000) === 0) {
    throw new ControlSocketError(`ControlPath directory ${dir} is writable by other users and not sticky`, 'unsafe', path);
  }
  if (!writableByOthers && me >= 0 && st.uid !== me && st.uid !== 0) {
    throw new ControlSocketError(`ControlPath directory ${dir} belongs to another user`, 'unsafe', path);
  }
}

/**
 * Listens on `path`: binds a temporary name beside it (mode 0600 from the
 * start) and links it to `path`. 'in-use' when something is already there.
 */
export async function listenControlSocket(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  if (Buffer.byteLength(path) + 17 >= MAX_SOCKET_PATH) throw new ControlSocketError(`ControlPath "${path}" too long for Unix domain socket`, 'failed', path);
  checkDirectory(path);
  const temp = `${path}.${randomBytes(8).toString('hex')}`;
  const server = createServer({ allowHalfOpen: true }, onConnection);
  // umask makes the socket 0600 at bind(); chmod again in case the platform
  // ignores it. Worker threads may not set the umask: there the chmod alone
  // does it, before the socket appears under its real name.
  let oldMask: number | null = null;
  try {
    oldMask = process.umask(0o177);
  } catch {
    oldMask = null;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(temp, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new ControlSocketError(`ControlSocket ${path}: cannot listen: ${(err as Error).message}`, 'failed', path, { cause: err });
  } finally {
    if (oldMask !== null) process.umask(oldMask);
  }
  try {
    chmodSync(temp, 0o600);
    linkSync(temp, path);
  } catch (err) {
    server.close();
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new ControlSocketError(exists ? `ControlSocket ${path} already exists, disabling multiplexing` : `ControlSocket ${path}: ${(err as Error).message}`, exists ? 'in-use' : 'failed', path, { cause: err });
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  return server;
}

/** Removes `path` if it is still the socket with inode `ino` (another master may have replaced it). */
export function removeControlSocket(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already
  }
}

/** The inode of the socket at `path`, to recognise it later. */
export function socketInode(path: string): number {
  return lstatSync(path).ino;
}

/**
 * Connects to the master at `path`. 'missing' when nothing is there,
 * 'stale' when a socket is there with nobody listening, 'unsafe' when it is
 * not a socket or another user's.
 */
export async function connectControlSocket(path: string): Promise<Socket> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    throw new ControlSocketError(`Control socket connect(${path}): No such file or directory`, 'missing', path, { cause: err });
  }
  if (!st.isSocket()) throw new ControlSocketError(`Control socket ${path} is not a socket`, 'unsafe', path);
  const me = uid();
  // Root too: another user's master would serve root's sessions and transfers (read what goes up, choose what comes down).
  if (me >= 0 && st.uid !== me) throw new ControlSocketError(`Control socket ${path} belongs to another user (uid ${st.uid})`, 'unsafe', path);
  return new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      const stale = err.code === 'ECONNREFUSED';
      const missing = err.code === 'ENOENT';
      reject(
        new ControlSocketError(`Control socket connect(${path}): ${stale ? 'Connection refused' : missing ? 'No such file or directory' : err.message}`, stale ? 'stale' : missing ? 'missing' : 'failed', path, {
          cause: err,
        }),
      );
    };
    s.once('error', onError);
  });
}
