/**
 * The container image recipe (Dockerfile, .dockerignore), checked without a Docker engine: parsed
 * with dockerfile-ast and linted with dockerfile-utils (the parser and validator of the Dockerfile
 * language server), .dockerignore read with Docker's own matching rules (@balena/dockerignore).
 * What a build would copy is checked against this checkout after the suite's own build of dist/.
 * That the copied files run with production dependencies only is test/package.test.ts's part.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { type Copy, DockerfileParser, type From, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT } from '../src/shim/defaults.ts';
import { runCli } from './helpers/cli.ts';
import { ROOT } from './helpers/package.ts';

const DOCKERFILE = readFileSync(`${ROOT}/Dockerfile`, 'utf8');
// A CommonJS module whose typings say `export default`: in ESM its default import is module.exports itself.
const ignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;
const dockerignore = ignore().add(readFileSync(`${ROOT}/.dockerignore`, 'utf8'));
const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { bin: Record<string, string>; files: string[] };
const dockerfile = DockerfileParser.parse(DOCKERFILE);

/** The build arguments' defaults, as `docker build` without --build-arg uses them. */
const buildArgs = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue()]));
const expand = (s: string) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const value = buildArgs.get((braced ?? bare)!);
    if (value == null) throw new Error(`the Dockerfile uses \$${braced ?? bare}, which has no default`);
    return value;
  });

interface Stage {
  from: From;
  image: string;
  name: string | null;
  instructions: Instruction[];
}

const stages: Stage[] = [];
for (const i of dockerfile.getInstructions()) {
  if (i.getKeyword() === 'FROM') {
    const from = i as From;
    stages.push({ from, image: expand(from.getImage()!), name: from.getBuildStage(), instructions: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.instructions.push(i);
  }
}
const [buildStage, finalStage] = stages as [Stage, Stage];
const keyword = (stage: Stage, k: string) => stage.instructions.filter((i) => i.getKeyword() === k);
const words = (i: Instruction) => i.getArguments().map((a) => a.getValue());

interface Copied {
  /** --from=<stage>, or null for the build context. */
  from: string | null;
  sources: string[];
  /** Absolute (the WORKDIR in force at the COPY applied), and whether it names a directory (a trailing /). */
  destination: string;
  intoDirectory: boolean;
}

function copies(stage: Stage): Copied[] {
  let workdir = '/';
  const out: Copied[] = [];
  for (const i of stage.instructions) {
    if (i.getKeyword() === 'WORKDIR') workdir = posix.resolve(workdir, words(i)[0]!);
    if (i.getKeyword() !== 'COPY') continue;
    const args = words(i);
    const to = args.at(-1)!;
    out.push({ from: (i as Copy).getFromFlag()?.getValue() ?? null, sources: args.slice(0, -1), destination: posix.resolve(workdir, to), intoDirectory: to.endsWith('/') });
  }
  return out;
}

/** Where COPY puts a source: a directory's contents at the destination; a file at it, or in it when it names a directory. */
function landing(c: Copied, source: string, sourceIsDirectory: boolean): string {
  return sourceIsDirectory || !(c.intoDirectory || c.sources.length > 1) ? c.destination : posix.join(c.destination, posix.basename(source));
}

function workdirOf(stage: Stage): string {
  return posix.resolve('/', ...keyword(stage, 'WORKDIR').map((i) => words(i)[0]!));
}

const runs = (stage: Stage) => keyword(stage, 'RUN').map((i) => i.getArgumentsContent() ?? '');

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
