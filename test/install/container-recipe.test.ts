/**
 * The Dockerfile carried out on this machine, without Docker: each stage gets a directory standing
 * for its filesystem, the build context is the checkout's files that .dockerignore lets in, and the
 * instructions run in order — WORKDIR, ENV, COPY (from the context or the build stage) and RUN, as
 * `sh -c` in the stage's working directory. RUN lines that start with apt-get are not run: they
 * install Debian packages (a compiler for the build stage, tini for the final one) that this
 * machine has, or that the test does without (the entry point is started from `node` on, after
 * tini's `--`). The final stage's entry point then runs as the image's USER.
 *
 * It builds better-sqlite3 from source (`npm rebuild`, about two minutes on 2 cores), so it runs with
 * `npm run test:install` and in .ci/run, not in `npm test`. It needs root, as CI and this machine's
 * sessions have, to run the entry point as another user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Env, JSONInstruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_VERSION } from '../../src/version.ts';
import { type CliResult, startProcess } from '../helpers/cli.ts';
import { copies, dockerignore, landing, type Stage, stages, words } from '../helpers/dockerfile.ts';
import { ROOT } from '../helpers/package.ts';

interface StageResult {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  entrypoint: string[];
  cmd: string[];
  ran: string[];
  notRun: string[];
}

const inRoot = (root: string, imagePath: string) => join(root, imagePath);
const npmFree = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

async function carryOut(stage: Stage, root: string, context: string, built: Map<string, StageResult>): Promise<StageResult> {
  const result: StageResult = { root, workdir: '/', env: {}, user: null, entrypoint: [], cmd: [], ran: [], notRun: [] };
  const copyList = copies(stage);
  let copyIndex = 0;
  for (const i of stage.instructions) {
    switch (i.getKeyword()) {
      case 'WORKDIR':
        result.workdir = posix.resolve(result.workdir, words(i)[0]!);
        mkdirSync(inRoot(root, result.workdir), { recursive: true });
        break;
      case 'ENV':
        for (const p of (i as Env).getProperties()) result.env[p.getName()] = p.getValue() ?? '';
        break;
      case 'COPY': {
        const c = copyList[copyIndex++]!;
        const sourceRoot = c.from === null ? context : built.get(c.from)!.root;
        for (const source of c.sources) {
          const from = c.from === null ? join(sourceRoot, source) : inRoot(sourceRoot, source);
          const isDirectory = statSync(from).isDirectory();
          const to = inRoot(root, landing(c, source, isDirectory));
          if (!isDirectory) mkdirSync(join(to, '..'), { recursive: true });
          cpSync(from, to, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const command = i.getArgumentsContent()!.replace(/\\\n/g, ' ');
        if (/^\s*apt-get\b/.test(command)) {
          result.notRun.push(command);
          break;
        }
        const r = await startProcess('sh', ['-c', command], { cwd: inRoot(root, result.workdir), env: { ...npmFree(), ...result.env } }).done;
        if (r.code !== 0) throw new Error(`RUN ${command} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
        result.ran.push(command);
        break;
      }
      case 'USER':
        result.user = words(i)[0]!;
        break;
      case 'ENTRYPOINT':
        result.entrypoint = (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        break;
      case 'CMD':
        result.cmd = (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        break;
      default:
        break;
    }
  }
  return result;
}

describe('the Dockerfile, carried out without Docker', () => {
  let scratch: string;
  let image: StageResult;
  let build: StageResult;
  let uid: number;
  let gid: number;

  /** The entry point from `node` on (tini is not on this machine), with image paths in the final stage's directory. */
  function runImage(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const entry = image.entrypoint.slice(image.entrypoint.indexOf('--') + 1);
    const [command, ...rest] = entry.map((a) => (a.startsWith('/') && existsSync(inRoot(image.root, a)) ? inRoot(image.root, a) : a));
    return startProcess(command === 'node' ? process.execPath : command!, [...rest, ...args], {
      cwd: inRoot(image.root, image.workdir),
      env: { PATH: process.env.PATH, HOME: inRoot(image.root, image.workdir), ...image.env, ...env },
      uid,
      gid,
    }).done;
  }

  beforeAll(async () => {
    expect(process.getuid?.(), 'running the image as its USER needs root').toBe(0);
    scratch = mkdtempSync(join(tmpdir(), 'mb-image-'));
    // The image's user must reach its files, as in an image whose directories are world-readable.
    chmodSync(scratch, 0o755);
    const context = join(scratch, 'context');
    const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of listed.filter((f) => !dockerignore.ignores(f) && existsSync(join(ROOT, f)))) {
      mkdirSync(join(context, f, '..'), { recursive: true });
      cpSync(join(ROOT, f), join(context, f));
    }
    const built = new Map<string, StageResult>();
    for (const [n, stage] of stages.entries()) {
      const root = join(scratch, `stage-${n}`);
      mkdirSync(root);
      built.set(stage.name ?? `#${n}`, await carryOut(stage, root, context, built));
    }
    build = built.get(stages[0]!.name!)!;
    image = [...built.values()].at(-1)!;
    [uid, gid] = image.user!.split(':').map(Number) as [number, number];
    // The base image's home directory of its `node` user, which the final stage works in.
    chownSync(inRoot(image.root, image.workdir), uid, gid);
  }, 900_000);
  afterAll(() => scratch && rmSync(scratch, { recursive: true, force: true }));

  it('ran every build-stage command but the Debian package installs', () => {
    expect(build.ran.length).toBeGreaterThanOrEqual(3);
    expect(build.notRun.every((c) => c.startsWith('apt-get'))).toBe(true);
    expect(image.ran).toEqual([]);
  });

  it('left the final stage without development dependencies or sources', () => {
    const app = inRoot(image.root, '/opt/mlmd-bridge');
    expect(readdirSync(app).sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json', 'proto']);
    for (const dev of ['typescript', 'tsx', 'vitest']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
  });

  it('its entry point prints the version, as the non-root USER', async () => {
    expect(uid).toBeGreaterThan(0);
    const r = await runImage(['--version']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(TOOL_VERSION);
  });

  it('its default command is the help', async () => {
    const r = await runImage(image.cmd);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: mlmd-bridge');
  });

  it('runs the demo in its working directory, as the USER, with worker threads', async () => {
    const r = await runImage(['demo', '--runs', '6'], { MLMD_BRIDGE_WORKERS: '2' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Every checked run matches');
    const demo = join(inRoot(image.root, image.workdir), '.demo');
    expect(statSync(join(demo, 'kfp.db')).uid).toBe(uid);
  });
});
