/**
 * The package as a production install gets it: `npm pack` of this checkout (its dist/ as the test
 * setup built it), unpacked into a temp directory with the lock file beside it, then installed
 * with `npm ci --omit=dev` there. Nothing of the checkout's node_modules is reachable from it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliResult, startProcess } from './cli.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command to its end. npm's own npm_* variables (set when the suite runs under `npm test`) are not passed on. */
export function run(command: string, args: string[], cwd: string): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return startProcess(command, args, { cwd, env }).done;
}

async function succeed(command: string, args: string[], cwd: string): Promise<CliResult> {
  const r = await run(command, args, cwd);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.stderr}\n${r.stdout}`.slice(0, 8000));
  return r;
}

export interface UnpackedPackage {
  /** Where package.json, bin/ and dist/ are. */
  dir: string;
  /** The paths `npm pack` put in the tarball. */
  files: string[];
  /** bin/mlmd-bridge.js of the unpacked package. */
  cli: string;
  /** A scratch directory beside it for databases and reports. */
  scratch: string;
  remove(): void;
}

/** `npm pack` without its scripts (dist/ is already built), unpacked, with package-lock.json beside it as a checkout has it. */
export async function packAndUnpack(): Promise<UnpackedPackage> {
  const root = mkdtempSync(join(tmpdir(), 'mb-package-'));
  try {
    const packed = await succeed('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], ROOT);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    await succeed('tar', ['-xzf', join(root, info!.filename), '-C', root], root);
    const dir = join(root, 'package');
    copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
    const scratch = join(root, 'scratch');
    mkdirSync(scratch);
    return {
      dir,
      files: info!.files.map((f) => f.path),
      cli: join(dir, 'bin', 'mlmd-bridge.js'),
      scratch,
      remove: () => rmSync(root, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

/**
 * `npm ci --omit=dev` in the unpacked package, its lifecycle scripts included: the package's
 * `prepare` and better-sqlite3's native build (compiled from source where no prebuilt binary can
 * be downloaded, as here: about two minutes on 2 cores).
 */
export async function installProductionDependencies(pkg: UnpackedPackage): Promise<void> {
  await succeed('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], pkg.dir);
}

/**
 * `npm ci --omit=dev --ignore-scripts`: the production dependencies from the lock file, with no
 * install script run. The one native module, better-sqlite3, is then taken compiled from this
 * checkout's own install (the same Node, the same lock file), as the container image's final
 * stage takes it from its build stage; the package's `prepare` is run on its own.
 */
export async function installProductionDependenciesReusingNativeBuild(pkg: UnpackedPackage): Promise<void> {
  await succeed('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], pkg.dir);
  const binary = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(join(pkg.dir, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
  copyFileSync(join(ROOT, binary), join(pkg.dir, binary));
}
