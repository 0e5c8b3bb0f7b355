/**
 * The Dockerfile and .dockerignore as data: parsed with dockerfile-ast (the Dockerfile language
 * server's parser), .dockerignore read with Docker's own matching rules (@balena/dockerignore).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { type Copy, DockerfileParser, type From, type Instruction } from 'dockerfile-ast';
import { ROOT } from './package.ts';

export const DOCKERFILE = readFileSync(`${ROOT}/Dockerfile`, 'utf8');
// A CommonJS module whose typings say `export default`: in ESM its default import is module.exports itself.
const ignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;
export const dockerignore = ignore().add(readFileSync(`${ROOT}/.dockerignore`, 'utf8'));
export const dockerfile = DockerfileParser.parse(DOCKERFILE);

/** The build arguments' defaults, as `docker build` without --build-arg uses them. */
const buildArgs = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue()]));
export const expand = (s: string) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const value = buildArgs.get((braced ?? bare)!);
    if (value == null) throw new Error(`the Dockerfile uses \$${braced ?? bare}, which has no default`);
    return value;
  });

export interface Stage {
  from: From;
  image: string;
  name: string | null;
  instructions: Instruction[];
}

export const stages: Stage[] = [];
for (const i of dockerfile.getInstructions()) {
  if (i.getKeyword() === 'FROM') {
    const from = i as From;
    stages.push({ from, image: expand(from.getImage()!), name: from.getBuildStage(), instructions: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.instructions.push(i);
  }
}
export const [buildStage, finalStage] = stages as [Stage, Stage];
export const keyword = (stage: Stage, k: string) => stage.instructions.filter((i) => i.getKeyword() === k);
export const words = (i: Instruction) => i.getArguments().map((a) => a.getValue());

export interface Copied {
  /** --from=<stage>, or null for the build context. */
  from: string | null;
  sources: string[];
  /** Absolute (the WORKDIR in force at the COPY applied), and whether it names a directory (a trailing /). */
  destination: string;
  intoDirectory: boolean;
}

export function copies(stage: Stage): Copied[] {
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
export function landing(c: Copied, source: string, sourceIsDirectory: boolean): string {
  return sourceIsDirectory || !(c.intoDirectory || c.sources.length > 1) ? c.destination : posix.join(c.destination, posix.basename(source));
}

export function workdirOf(stage: Stage): string {
  return posix.resolve('/', ...keyword(stage, 'WORKDIR').map((i) => words(i)[0]!));
}

export const runs = (stage: Stage) => keyword(stage, 'RUN').map((i) => i.getArgumentsContent() ?? '');
