// The other schedulers' files, checked by their own readers: systemd-analyze verify, a property-list
// parser (Python's plistlib), an XML parser. (The cron daemon check is in cron.test.ts: a stand-in
// daemon there must not meet another file's cron test.)
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpRegistry } from '../helpers/tmp-registry.js';

const has = async (cmd: string) => (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
const hasAnalyze = await has('systemd-analyze');
const hasPython = await has('python3');

/** `### name` sections of a --print output, as files. */
function splitFiles(out: string, dir: string): string[] {
  const parts = out.split(/^### (\S+)\n/m).slice(1);
  const files: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const f = join(dir, parts[i]!);
    writeFileSync(f, parts[i + 1]!);
    files.push(f);
  }
  return files;
}

describe('the other schedulers, as their own tools read them', () => {
  it.skipIf(!hasAnalyze)('prints a systemd service, timer and (with --boot) boot service that pass systemd-analyze verify', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const out = await t.cli(['cron', 'install', '--print', '--format', 'systemd', '--boot']);
    expect(out.code).toBe(0);
    const dir = join(t.dir, 'units');
    mkdirSync(dir);
    const files = splitFiles(out.stdout, dir);
    expect(files.map((f) => f.split('/').pop())).toEqual(['pguard-healthcheck.service', 'pguard-healthcheck.timer', 'pguard-boot.service']);
    expect(out.stdout).toContain(`boot --registry "${t.registry}"`);
    const verify = await execa('systemd-analyze', ['verify', ...files], { reject: false });
    expect(verify.stderr).toBe('');
    expect(verify.exitCode).toBe(0);
  });

  it.skipIf(!hasPython)('prints a launchd agent that parses as a property list, with StartInterval, and RunAtLoad only with --boot', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const parse = async (args: string[]) => {
      const out = await t.cli(['cron', 'install', '--print', '--format', 'launchd', ...args]);
      const py = await execa('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: out.stdout });
      return JSON.parse(py.stdout);
    };
    const plain = await parse(['--every', '10']);
    expect(plain).toEqual({ Label: 'com.pguard.healthcheck', ProgramArguments: [process.execPath, expect.stringMatching(/pguard\.js$/), 'healthcheck', '--registry', t.registry], StartInterval: 600 });
    expect(await parse(['--boot'])).toMatchObject({ StartInterval: 300, RunAtLoad: true });
  });

  it.skipIf(!hasPython)('prints scheduled tasks that an XML reader takes (the encoding they declare is theirs), with a logon task for --boot', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const out = await t.cli(['cron', 'install', '--print', '--format', 'schtasks', '--boot']);
    const dir = join(t.dir, 'tasks');
    mkdirSync(dir);
    const files = splitFiles(out.stdout, dir);
    expect(files.map((f) => f.split('/').pop())).toEqual(['pguard-healthcheck.xml', 'pguard-boot.xml']);
    const script = 'import sys,xml.dom.minidom as m\nfor f in sys.argv[1:]:\n  d=m.parse(f)\n  t=d.getElementsByTagName("Triggers")[0]\n  print(",".join(n.tagName for n in t.childNodes if n.nodeType==1), d.getElementsByTagName("Arguments")[0].firstChild.data)';
    const py = await execa('python3', ['-c', script, ...files], { reject: false });
    expect(py.stderr).toBe('');
    const [healthcheck, boot] = py.stdout.split('\n');
    expect(healthcheck).toMatch(/^TimeTrigger "\S+pguard\.js" healthcheck --registry /);
    expect(boot).toMatch(/^LogonTrigger "\S+pguard\.js" boot --registry /);
  });
});
