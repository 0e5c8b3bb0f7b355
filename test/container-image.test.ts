/**
 * The container image recipe (Dockerfile, .dockerignore), checked without a Docker engine: linted
 * with dockerfile-utils (the Dockerfile language server's validator) and read through
 * test/helpers/dockerfile.ts. What a build would copy is checked against this checkout after the
 * suite's own build of dist/. That the copied files run with production dependencies only is
 * test/package.test.ts's part; test/install/container-recipe.test.ts carries the recipe out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT } from '../src/shim/defaults.ts';
import { runCli } from './helpers/cli.ts';
import { buildStage, copies, DOCKERFILE, dockerignore, finalStage, keyword, landing, runs, stages, words, workdirOf } from './helpers/dockerfile.ts';
import { ROOT } from './helpers/package.ts';

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { bin: Record<string, string>; files: string[] };

describe('Dockerfile', () => {
  it('is valid: the Dockerfile language server validator reports nothing', () => {
    expect(validate(DOCKERFILE)).toEqual([]);
  });

  it('builds in a named stage and runs in a second one, both on the Node major the tests run on', () => {
    expect(stages).toHaveLength(2);
    expect(buildStage.name).toBe('build');
    // The native module compiled in the build stage must load in the final stage's Node.
    expect(finalStage.image).toBe(buildStage.image);
    expect(finalStage.image).toMatch(new RegExp(`^node:${process.versions.node.split('.')[0]}-`));
  });

  it('copies into the build stage only files that exist and that .dockerignore lets into the context', () => {
    const fromContext = copies(buildStage).filter((c) => c.from === null);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext.flatMap((c) => c.sources)) {
      expect(existsSync(`${ROOT}/${source}`), source).toBe(true);
      // Every tracked file under it reaches the build: .dockerignore keeps none of them out.
      const tracked = execFileSync('git', ['ls-files', '--', source], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
      expect(tracked.length, source).toBeGreaterThan(0);
      expect(tracked.filter((f) => dockerignore.ignores(f)), source).toEqual([]);
    }
  });

  it('compiles and prunes in the build stage: TypeScript build, then development dependencies dropped', () => {
    const all = runs(buildStage).join('\n');
    expect(all).toMatch(/npm ci\b/);
    expect(all).toMatch(/npm rebuild better-sqlite3/);
    expect(all).toMatch(/npm run build[\s\S]*npm prune --omit=dev/);
  });

  it('gives the final stage, from the build stage, what the CLI runs on — each there after a build', () => {
    const work = workdirOf(buildStage);
    // Build-stage path -> the checkout path it holds after a build.
    const made = new Map<string, string>();
    for (const c of copies(buildStage).filter((x) => x.from === null)) {
      for (const source of c.sources) made.set(landing(c, source, statSync(`${ROOT}/${source}`).isDirectory()), source);
    }
    // Made by the build stage's own commands rather than copied: the installed dependencies and the compiled code.
    made.set(posix.join(work, 'node_modules'), 'node_modules');
    made.set(posix.join(work, 'dist'), 'dist');
    const finalCopies = copies(finalStage);
    expect(finalCopies.every((c) => c.from === buildStage.name), 'the final stage copies only from the build stage').toBe(true);
    const copiedHere = finalCopies.flatMap((c) => c.sources);
    for (const source of copiedHere) {
      const inCheckout = made.get(source);
      expect(inCheckout, `${source} is neither copied into nor made in the build stage`).toBeDefined();
      expect(existsSync(`${ROOT}/${inCheckout}`), `${source} (${inCheckout} here)`).toBe(true);
    }
    // Everything the package ships for running (package.json's "files", less the build hook) and its dependencies.
    const needed = [...pkg.files.filter((f) => !f.startsWith('!') && !f.startsWith('scripts/')), 'package.json', 'node_modules'];
    for (const f of needed) expect(copiedHere, f).toContain(posix.join(work, f.replace(/\/$/, '')));
  });

  it('installs and compiles nothing in the final stage', () => {
    for (const command of runs(finalStage)) expect(command).not.toMatch(/\b(npm|npx|node-gyp|g\+\+|make|python3)\b/);
  });

  it('runs as a non-root user given by number (what Kubernetes runAsNonRoot can check)', () => {
    const users = keyword(finalStage, 'USER').map((i) => words(i)[0]!);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    const lastUser = finalStage.instructions.lastIndexOf(keyword(finalStage, 'USER').at(-1)!);
    const lastRun = finalStage.instructions.lastIndexOf(keyword(finalStage, 'RUN').at(-1)!);
    expect(lastUser).toBeGreaterThan(lastRun);
  });

  it('enters through the packaged CLI, started by tini, and its default arguments are ones the CLI accepts', async () => {
    const entrypoints = keyword(finalStage, 'ENTRYPOINT') as JSONInstruction[];
    expect(entrypoints).toHaveLength(1);
    const entry = entrypoints[0]!.getJSONStrings().map((s) => s.getJSONValue());
    expect(entry.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    expect(runs(finalStage).join('\n')).toMatch(/apt-get install [^&]*\btini\b/);
    // The script node runs is the package's bin, where the final stage put the build stage's bin/.
    const binCopy = copies(finalStage).find((c) => c.sources.includes(posix.join(workdirOf(buildStage), 'bin')))!;
    expect(entry[3]).toBe(posix.join(binCopy.destination, posix.relative('bin', pkg.bin['mlmd-bridge']!)));
    expect(entry).toHaveLength(4);
    const cmd = (keyword(finalStage, 'CMD') as JSONInstruction[]).map((i) => i.getJSONStrings().map((s) => s.getJSONValue()));
    expect(cmd).toHaveLength(1);
    const r = await runCli(cmd[0]!);
    expect(r.code, r.stderr).toBe(0);
  });

  it("exposes the shim's default ports", () => {
    expect(keyword(finalStage, 'EXPOSE').flatMap(words).map(Number).sort()).toEqual([DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT]);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, .git, dist, demo files and local databases out of the build context', () => {
    for (const path of ['node_modules/commander/package.json', '.git/HEAD', 'dist/cli/main.js', '.demo/kfp.db', 'src/node_modules/x/index.js', 'kfp.db', 'src/cli/x.db', 'rejects.ndjson', 'verify.xml']) {
      expect(dockerignore.ignores(path), path).toBe(true);
    }
  });
});
