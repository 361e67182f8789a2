// Writing exported files into a folder the user names (--out DIR), so that no other user can turn
// the write into one somewhere else: the folder must be the user's and writable by no one else
// (else anyone could plant a symbolic link in it for pguard to write through), and each file is
// written to a new temp name (O_CREAT|O_EXCL, which follows no link) and renamed over the target
// (rename(2) replaces a link at the target, it never writes through it).
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

/** Make DIR if needed, and refuse it unless it is the user's own and others cannot write it. */
export function prepareOwnFolder(dir: string): void {
  const me = process.getuid?.() ?? 0;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new UserError(`${dir}: cannot make the folder (${(err as NodeJS.ErrnoException).code ?? String(err)}).`, 2);
  }
  const fix = 'Export into a folder of yours that only you can write (or chmod go-w it, if it is yours).';
  const link = lstatSync(dir);
  if (link.isSymbolicLink() && link.uid !== me && link.uid !== 0) {
    throw new UserError(`${dir}: a symbolic link of uid ${link.uid}'s, not yours: pguard will not write where another user points it. ${fix}`, 2);
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new UserError(`${dir}: not a folder: --out names the folder the files go in.`, 2);
  if (st.uid !== me) {
    throw new UserError(`${dir}: the folder belongs to uid ${st.uid}, not to you (uid ${me}): another user could plant a link in it for pguard to write through. ${fix}`, 2);
  }
  if ((st.mode & 0o022) !== 0) {
    const who = (st.mode & 0o020) && (st.mode & 0o002) ? 'its group and others' : st.mode & 0o002 ? 'others' : 'its group';
    throw new UserError(`${dir}: the folder is writable by ${who} (mode ${(st.mode & 0o7777).toString(8)}): anyone there could plant a link in it for pguard to write through. ${fix}`, 2);
  }
}

/** One file in a folder prepareOwnFolder accepted: a new temp file, renamed over NAME (a link there is replaced, not followed). */
export function writeExportedFile(path: string, text: string): void {
  writeFileAtomic(path, text, 0o644);
}
