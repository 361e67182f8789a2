// Import fidelity on files other people wrote (issue 24): every file of test/fixtures/real/
// (ORIGINS.json says where each comes from: repository, path, commit) is imported through the CLI
// as a user would, and what lands in the registry, with each note, is compared with the expected
// registry beside it (test/fixtures/real/expected/, read by hand against the source tool's own
// code: FINDINGS.md). Each result is then exported to systemd (systemd-analyze verify), Kubernetes
// (the API schema, kubernetes-models) and Compose (the compose-spec JSON Schema).
//
// To write the expected files after a deliberate change: PGUARD_UPDATE_EXPECTED=1 npx vitest run
// test/e2e/import-corpus.test.ts, then read the diff (git diff test/fixtures/real/expected).
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Service } from 'kubernetes-models/v1/Service';
import { FIXTURES, runCli } from '../helpers/run-cli.js';
import { composeValidator } from '../helpers/validators.js';

const REAL = join(FIXTURES, 'real');
const EXPECTED = join(REAL, 'expected');
const UPDATE = process.env.PGUARD_UPDATE_EXPECTED === '1';
const hasAnalyze = (await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false })).exitCode === 0;

interface Origin { file: string; format: string; repo: string; path: string; commit: string }
const origins = JSON.parse(readFileSync(join(REAL, 'ORIGINS.json'), 'utf8')) as Origin[];
/** Files whose PM2 ecosystem is code; read with --allow-eval after reading them (0x730: only `path`). */
const EVAL = new Set(['pm2/0x730__dex-bot-services__ecosystem.config.js']);

/** The expected record of one import: its exit, what it said, and the registry it left. */
interface Outcome { exit: number; stderr: string[]; registry: Record<string, unknown> | null }

// systemd-analyze verify checks that each program a unit runs is on this machine; the corpus's
// programs (php-fpm, celery, bun ...) are not. Those lines are the only ones allowed.
const MISSING_PROGRAM = /^[^:]+\.service: (Command .+ is not executable: No such file or directory|Unable to locate executable '.+': No such file or directory)$|^[^:]+\.service: Unit configuration has fatal error, unit will not be started\.$/;

const compose = composeValidator();
const K8S = { Deployment, Job, CronJob, Service } as const;

/** Paths of this checkout written as <real>, so that the expected files hold wherever the tests run. */
const portable = (text: string) => text.replaceAll(REAL.replace(/\/$/, ''), '<real>');

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function corpusRegistry() {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-corpus-'));
  dirs.push(dir);
  const registry = join(dir, '.process-registry.json');
  writeFileSync(registry, '{}\n');
  const env = { PGUARD_STATE_DIR: join(dir, 'state'), PGUARD_REGISTRY: registry, XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
  return { dir, registry, cli: (args: string[]) => runCli(args, { cwd: dir, env }) };
}

describe('import of real configuration files', () => {
  it('has at least 40 files, each with its origin', () => {
    expect(origins.length).toBeGreaterThanOrEqual(40);
    for (const o of origins) {
      expect(o.repo).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(o.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(readFileSync(join(REAL, o.file)).length).toBeGreaterThan(0);
    }
  });

  it.concurrent.each(origins.map((o) => [o.file, o] as const))('%s: imports as expected, and exports that validate', async (_f, o) => {
    // Its own folder, registry and state (the tests run side by side; import starts no process).
    const t = corpusRegistry();
    // A controlled environment: %(ENV_X)s of supervisord reads the importing shell's.
    // As a user runs it: in the project's folder, where the file is and the registry will be.
    const source = join(t.dir, basename(o.file));
    copyFileSync(join(REAL, o.file), source);
    const res = await t.cli(['import', o.format, source, ...(EVAL.has(o.file) ? ['--allow-eval'] : [])]);
    expect(res.code, res.stderr).not.toBe(70);
    const got: Outcome = {
      exit: res.code,
      // (As another user than root, import also says which processes only root may start: not the file's.)
      stderr: res.stderr.split('\n').filter((l) => l && !l.includes('only root can start')).map((l) => portable(l).replaceAll(t.dir, '<dir>')),
      registry: res.code === 0 ? JSON.parse(portable(readFileSync(t.registry, 'utf8')).replaceAll(t.dir, '<dir>')) as Record<string, unknown> : null,
    };
    const file = join(EXPECTED, `${o.file}.json`);
    if (UPDATE) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(got, null, 2)}\n`);
    }
    expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    if (res.code !== 0) return;

    // systemd: every unit verified; only programs missing from this machine may be reported.
    const units = join(t.dir, 'units');
    const sd = await t.cli(['export', 'systemd', '--out', units]);
    expect(sd.code, sd.stderr).toBe(0);
    if (hasAnalyze) {
      const verify = await execa('systemd-analyze', ['verify', ...readdirSync(units).map((f) => join(units, f))], { reject: false, cwd: t.dir });
      const problems = verify.stderr.split('\n').filter((l) => l && !MISSING_PROGRAM.test(l));
      expect(problems, verify.stderr).toEqual([]);
    }
    // Kubernetes: every document against the API schema.
    const k8s = await t.cli(['export', 'k8s', '--image', 'debian:12']);
    expect(k8s.code, k8s.stderr).toBe(0);
    for (const doc of parseAllDocuments(k8s.stdout).map((d) => d.toJS() as { kind: keyof typeof K8S })) {
      expect(Object.keys(K8S)).toContain(doc.kind);
      expect(() => new K8S[doc.kind](doc as never).validate()).not.toThrow();
    }
    // Compose: the whole file against the compose-spec schema.
    const cp = await t.cli(['export', 'compose', '--image', 'debian:12']);
    expect(cp.code, cp.stderr).toBe(0);
    expect(compose(parse(cp.stdout)), JSON.stringify(compose.errors)).toBe(true);
  });
});
