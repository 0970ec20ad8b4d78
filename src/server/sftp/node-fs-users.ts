// Names of users and groups for an SFTP listing's long names, and home
// directories for home-directory and `~user`: a cached read of /etc/passwd
// and /etc/group, as `ls -l` would show them. The files are read at most once
// a minute (a listing of 10,000 entries asks 10,000 times), never more than
// MAX_FILE_BYTES of them, and at most MAX_ENTRIES entries are kept.
import { open } from 'node:fs/promises';
import { parsePasswdEntry } from '../user-account.js';

const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 200_000;
const RELOAD_AFTER_MS = 60_000;

/** The names and homes read from the account files. */
export interface Tables {
  users: Map<number, string>;
  groups: Map<number, string>;
  homes: Map<string, string>;
}

export interface AccountFiles {
  passwd: string;
  group: string;
}

export class AccountNames {
  private tables: Tables | undefined;
  private loadedAt = 0;
  private loading: Promise<Tables> | undefined;

  constructor(
    private readonly files: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' },
    private readonly clock: () => number = Date.now,
  ) {}

  async userName(uid: number): Promise<string | undefined> {
    return (await this.load()).users.get(uid);
  }

  async groupName(gid: number): Promise<string | undefined> {
    return (await this.load()).groups.get(gid);
  }

  /** The home directory of the first passwd entry naming `name`, if any. */
  async home(name: string): Promise<string | undefined> {
    return (await this.load()).homes.get(name);
  }

  /** The tables, read again when a minute old; a file that cannot be read gives empty tables. */
  load(): Promise<Tables> {
    const now = this.clock();
    if (this.tables !== undefined && now - this.loadedAt < RELOAD_AFTER_MS) return Promise.resolve(this.tables);
    this.loading ??= this.read().then(
      (t) => {
        this.tables = t;
        this.loadedAt = this.clock();
        this.loading = undefined;
        return t;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  private async read(): Promise<Tables> {
    const [passwd, group] = await Promise.all([readSmall(this.files.passwd), readSmall(this.files.group)]);
    const users = new Map<number, string>();
    const homes = new Map<string, string>();
    for (const line of passwd.split('\n')) {
      if (users.size >= MAX_ENTRIES) break;
      const entry = parsePasswdEntry(line);
      if (entry === null) continue;
      if (!users.has(entry.uid)) users.set(entry.uid, entry.name);
      if (!homes.has(entry.name)) homes.set(entry.name, entry.home);
    }
    const groups = new Map<number, string>();
    for (const line of group.split('\n')) {
      if (groups.size >= MAX_ENTRIES) break;
      // name:password:gid:members
      const fields = line.split(':');
      if (fields.length !== 4) continue;
      const [name, , gidField] = fields as [string, string, string];
      if (name === '' || !/^\d{1,10}$/.test(gidField)) continue;
      const gid = Number(gidField);
      if (gid > 0xffff_fffe || groups.has(gid)) continue;
      groups.set(gid, name);
    }
    return { users, groups, homes };
  }
}

/** A file's text, at most MAX_FILE_BYTES of it; '' when it cannot be read. */
async function readSmall(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = (await handle.stat()).size;
    const buf = Buffer.allocUnsafe(Math.min(MAX_FILE_BYTES, Math.max(size + 1, 64 * 1024)));
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const text = buf.toString('utf8', 0, length);
    // A file cut at the limit loses its last, partial line (never read as a shorter entry).
    return length < buf.length ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  } catch {
    return '';
  } finally {
    await handle.close();
  }
}
