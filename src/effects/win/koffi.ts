// koffi's prebuilt native module for Windows (@koromix/koffi-win32-*: an optional dependency with
// no install script, which npm installs on Windows only), loaded at the first Windows call. It is
// used where Node offers nothing: process creation times, job objects, ACLs (kernel32.ts, acl.ts).
import { createRequire } from 'node:module';

let loaded: any = null;

export function koffi(): any {
  if (loaded) return loaded;
  const pkg = `@koromix/koffi-win32-${process.arch === 'arm64' ? 'arm64' : process.arch === 'ia32' ? 'ia32' : 'x64'}`;
  try {
    loaded = createRequire(import.meta.url)(pkg);
  } catch (err) {
    throw new Error(`${pkg} is missing (npm installs it with pguard on Windows; reinstall pguard): ${(err as Error).message}`);
  }
  return loaded;
}

const libs = new Map<string, any>();
export function dll(name: string): any {
  let l = libs.get(name);
  if (!l) libs.set(name, l = koffi().load(name));
  return l;
}
