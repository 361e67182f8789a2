// `user` and `group`: the account a process runs as, looked up in the account database when it is
// started (getent, so NSS sources such as LDAP count; /etc/passwd and /etc/group where there is no
// getent), and the program that switches to it: setpriv (util-linux), which execs the command, so
// the PID, the OS start time and the process group pguard identifies a run by stay the same.
// Only root can switch; the same user as pguard's is a no-op, any other is refused in one line.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { which } from './which.js';
import type { ProcessDef } from '../core/schema.js';
import { UserError } from '../errors.js';
import { childProcess } from './lazy-builtins.js';

/** A resolved account to switch to. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** The user's name, as the account database gives it. */
  readonly name: string;
  /** The absolute path of setpriv. */
  readonly setpriv: string;
  /** HOME, USER, LOGNAME and SHELL from the user's passwd entry (the registry's env wins over them). */
  readonly env: Readonly<Record<string, string>>;
}

interface Entry { readonly fields: readonly string[] }

/**
 * One entry of `getent DB KEY` (passwd: name:x:uid:gid:gecos:home:shell; group: name:x:gid:members),
 * or null when there is none. Without getent, the file itself (names and ids of local accounts).
 */
function lookup(db: 'passwd' | 'group', key: string): Entry | null {
  try {
    const out = childProcess().execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    const line = out.split('\n')[0] ?? '';
    return line ? { fields: line.split(':') } : null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number };
    if (e.code !== 'ENOENT') {
      // getent's 2: no such key. Anything else (a broken NSS source) is said as it is.
      if (e.status === 2) return null;
      throw new UserError(`getent ${db} ${key} failed (${e.status !== undefined ? `exit ${e.status}` : e.message}): the account database cannot be read.`);
    }
  }
  let text = '';
  try { text = readFileSync(`/etc/${db}`, 'utf8'); } catch { return null; }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    // The id is the third field in both files.
    if (fields[0] === key || (/^\d+$/.test(key) && fields[2] === key)) return { fields };
  }
  return null;
}

/** Who pguard runs as: its effective uid and the name the account database gives it. */
function whoAmI(): { uid: number; gid: number; name: string } {
  const uid = process.geteuid?.() ?? -1;
  const gid = process.getegid?.() ?? -1;
  let name = String(uid);
  try { name = userInfo().username; } catch { /* a uid without a passwd entry (a container's): its number */ }
  return { uid, gid, name };
}

/**
 * The account a process is to be started as, or null when there is nothing to switch (no `user`,
 * or pguard's own user and group). Throws one UserError line, naming the process and the field,
 * for an unknown user or group, a non-root pguard asked for another user, no setpriv, or Windows.
 */
export function resolveRunAs(def: Pick<ProcessDef, 'name' | 'user' | 'group'>, env: NodeJS.ProcessEnv): RunAs | null {
  if (def.user === undefined) return null;
  const subject = `"${def.name}".user`;
  if (process.platform === 'win32') {
    throw new UserError(`${subject}: starting a process as another user (${def.user}) is not supported on Windows. Remove user${def.group !== undefined ? ' and group' : ''} from its entry.`);
  }
  const pw = lookup('passwd', def.user);
  if (!pw || pw.fields.length < 7 || !/^\d+$/.test(pw.fields[2]!) || !/^\d+$/.test(pw.fields[3]!)) {
    throw new UserError(`${subject}: no user ${JSON.stringify(def.user)} on this machine (getent passwd). Create it, or change user in the registry.`);
  }
  const [name, , uidText, gidText, , home, shell] = pw.fields as [string, string, string, string, string, string, string];
  let gid = Number(gidText);
  if (def.group !== undefined) {
    const gr = lookup('group', def.group);
    if (!gr || !/^\d+$/.test(gr.fields[2] ?? '')) {
      throw new UserError(`"${def.name}".group: no group ${JSON.stringify(def.group)} on this machine (getent group). Create it, or change group in the registry.`);
    }
    gid = Number(gr.fields[2]);
  }
  const uid = Number(uidText);
  const me = whoAmI();
  if (uid === me.uid && (def.group === undefined || gid === me.gid)) return null; // already that user: nothing to switch
  if (me.uid !== 0) {
    if (uid !== me.uid) throw new UserError(`${subject}: pguard runs as ${me.name}; only root can start a process as ${def.user}. Run pguard as root, or remove user.`);
    throw new UserError(`"${def.name}".group: pguard runs as ${me.name}; only root can start a process with group ${def.group}. Run pguard as root, or remove group.`);
  }
  const setpriv = which('setpriv', env);
  if (!setpriv) {
    throw new UserError(`${subject}: starting a process as ${def.user} needs setpriv (util-linux), which is not on PATH. Install util-linux, or remove user.`);
  }
  // login(1)'s defaults for an empty home or shell field.
  return { uid, gid, name, setpriv, env: { HOME: home || '/', USER: name, LOGNAME: name, SHELL: shell || '/bin/sh' } };
}

/** setpriv's arguments before the command: the user's uid and gid, and its supplementary groups (initgroups). */
export function setprivArgs(runAs: RunAs): string[] {
  return [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--init-groups', '--'];
}

/**
 * For `register` and `import`, which accept any user (the registry may be shared with root): the
 * one line to say when pguard, not root, could not start these processes as their users; null
 * when it can. Names and uids are compared, the account database not asked.
 */
export function describeForeignUsers(entries: readonly { name: string; user: unknown }[]): string | null {
  const me = whoAmI();
  if (me.uid === 0 || process.platform === 'win32') return null;
  const foreign = entries.filter((e) => e.user !== undefined && String(e.user) !== me.name && String(e.user) !== String(me.uid));
  if (foreign.length === 0) return null;
  const list = foreign.map((e) => `${e.name} (as ${String(e.user)})`).join(', ');
  return `only root can start ${list}: pguard runs as ${me.name}, so \`pguard start\` will refuse ${foreign.length === 1 ? 'it' : 'them'} here.`;
}
