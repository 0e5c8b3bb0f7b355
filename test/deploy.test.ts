// The Kubernetes manifests in deploy/: every kustomization builds (kubectl kustomize), every object
// is valid against the Kubernetes schemas (kubernetes-models), and every container's command line
// parses with the CLI's own commander program, so a manifest cannot name a command, flag or
// environment variable the CLI lacks. Then what ties the objects together: one image, the Services'
// ports on the shim's ports, the probes on its gRPC port, the Secret's keys, the shard count.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import * as models from 'kubernetes-models';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { buildProgram } from '../src/cli/main.ts';
import { TOOL_VERSION } from '../src/version.ts';

const DEPLOY = fileURLToPath(new URL('../deploy', import.meta.url));
const IMAGE = `mlmd-bridge:${TOOL_VERSION}`;
const SECRET = 'mlmd-bridge-db';
const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

type Obj = Record<string, any>;

/** Every folder of deploy/ holding a kustomization.yaml, with its kind (Kustomization or Component). */
function kustomizations(dir = DEPLOY): { dir: string; kind: string }[] {
  const out: { dir: string; kind: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...kustomizations(path));
    else if (name === 'kustomization.yaml') out.push({ dir, kind: parseYaml(readFileSync(path, 'utf8')).kind });
  }
  return out;
}

function build(dir: string): Obj[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as Obj);
}

/** kubernetes-models' class for an object's apiVersion and kind: "apps/v1" → models.apps.v1.Deployment. */
function modelOf(o: Obj): new (data: Obj) => { validate(): void } {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const ns = group === '' ? (models as Obj)[version] : (models as Obj)[group.replace(/\.(\w)/g, (_: string, c: string) => c.toUpperCase())]?.[version];
  const model = ns?.[o.kind];
  if (!model) throw new Error(`kubernetes-models has no ${o.apiVersion} ${o.kind}`);
  return model;
}

interface PodSpecAt {
  owner: Obj;
  spec: Obj;
}

function podSpecs(objects: Obj[]): PodSpecAt[] {
  return objects.filter((o) => o.spec?.template?.spec).map((o) => ({ owner: o, spec: o.spec.template.spec }));
}

const containersOf = (spec: Obj): Obj[] => [...(spec.initContainers ?? []), ...spec.containers];

interface Parsed {
  command: string;
  opts: Record<string, unknown>;
}

/**
 * Parses a container's args with the CLI's commander program, its actions replaced so nothing
 * runs. The environment is the container's: each variable it sets (a Secret's value stands in as a
 * URL), so an option the CLI takes from the environment must be provided by the manifest.
 */
function parseContainer(c: Obj): Parsed {
  const errors: string[] = [];
  const program = buildProgram(() => undefined, (s) => errors.push(s));
  let parsed: Parsed | undefined;
  for (const cmd of program.commands as Command[]) {
    cmd.exitOverride();
    cmd.action(() => {
      parsed = { command: cmd.name(), opts: cmd.opts() };
    });
  }
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? 'mysql://user:secret@mysql:3306/db' : '');
  const saved = { ...process.env };
  for (const k of ['MLMD_DB_URL', 'KFP_DB_URL']) delete process.env[k];
  Object.assign(process.env, env);
  try {
    program.parse(c.args, { from: 'user' });
  } catch (e) {
    throw new Error(`container ${c.name}: ${JSON.stringify(c.args)} does not parse: ${errors.join('') || (e as Error).message}`);
  } finally {
    process.env = saved;
  }
  if (!parsed) throw new Error(`container ${c.name}: ${JSON.stringify(c.args)} names no command`);
  return parsed;
}

/** Kubernetes' stand-in for KFP 3's API server Deployment (as KFP's manifests name it), for the gate to patch. */
const ML_PIPELINE = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'ml-pipeline', labels: { app: 'ml-pipeline' } },
  spec: {
    selector: { matchLabels: { app: 'ml-pipeline' } },
    template: {
      metadata: { labels: { app: 'ml-pipeline' } },
      spec: { containers: [{ name: 'ml-pipeline-api-server', image: 'ghcr.io/kubeflow/kfp-api-server:3.0.0', ports: [{ name: 'http', containerPort: 8888 }] }] },
    },
  },
};

const scratch = mkdtempSync(join(tmpdir(), 'mb-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A kustomization as an operator's KFP 3 install would be: ml-pipeline plus the gate component. */
function buildWithGate(): Obj[] {
  writeFileSync(join(scratch, 'ml-pipeline.yaml'), JSON.stringify(ML_PIPELINE));
  writeFileSync(
    join(scratch, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: kubeflow\nresources:\n  - ml-pipeline.yaml\ncomponents:\n  - ${relative(scratch, join(DEPLOY, 'gate'))}\n`,
  );
  return build(scratch);
}

const ALL = kustomizations();
const TOP = ALL.filter((k) => k.kind === 'Kustomization');

describe('deploy/', () => {
  it('has the parts the runbook names', () => {
    expect(ALL.map((k) => `${relative(DEPLOY, k.dir)} ${k.kind}`).sort()).toEqual([
      'base Component',
      'gate Component',
      'jobs/cutover Kustomization',
      'jobs/stage Kustomization',
      'sharded-stage Kustomization',
      'shim Kustomization',
    ]);
  });

  const builtWith = kubectl ? 'built with kubectl kustomize' : 'built with kubectl kustomize: SKIPPED, kubectl is not installed on this machine';
  describe.skipIf(!kubectl)(builtWith, () => {
    const built = new Map<string, Obj[]>(TOP.map((k) => [relative(DEPLOY, k.dir), build(k.dir)]));
    const gated = buildWithGate();
    const everything = [...[...built.values()].flat(), ...gated];

    it('every object is valid against the Kubernetes schemas and lives in the kubeflow namespace', () => {
      expect(everything.length).toBeGreaterThan(8);
      for (const o of everything) {
        const Model = modelOf(o);
        expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('kubeflow');
      }
    });

    it('every mlmd-bridge container parses with the CLI, runs the one image, as non-root on a read-only root filesystem, with resources', () => {
      const containers = podSpecs(everything).flatMap((p) => containersOf(p.spec).filter((c) => c.image.startsWith('mlmd-bridge')).map((c) => ({ ...p, c })));
      expect(containers.map(({ c }) => parseContainer(c).command).sort()).toEqual(['cutover', 'shim', 'stage', 'stage', 'status']);
      for (const { owner, spec, c } of containers) {
        const where = `${owner.kind} ${owner.metadata.name} ${c.name}`;
        expect(c.image, where).toBe(IMAGE);
        expect(c.securityContext, where).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, where).toBe(true);
        expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
        expect(c.resources?.limits?.memory, where).toBeDefined();
        for (const e of c.env ?? []) {
          if (e.valueFrom) expect(e.valueFrom.secretKeyRef, `${where} ${e.name}`).toMatchObject({ name: SECRET, key: e.name === 'MLMD_DB_URL' ? 'mlmd-url' : 'kfp-url' });
        }
      }
    });

    it('the Jobs: retried with a bound, cleaned up after a week, never restarted in place', () => {
      const jobs = [...built.values()].flat().filter((o) => o.kind === 'Job');
      expect(jobs.map((j) => j.metadata.name).sort()).toEqual(['mlmd-bridge-cutover', 'mlmd-bridge-sharded-stage', 'mlmd-bridge-stage']);
      for (const j of jobs) {
        expect(j.spec.backoffLimit ?? j.spec.backoffLimitPerIndex, j.metadata.name).toBeGreaterThan(0);
        expect(j.spec.ttlSecondsAfterFinished, j.metadata.name).toBe(604_800);
        expect(j.spec.template.spec.restartPolicy, j.metadata.name).toBe('Never');
      }
    });

    it('the sharded stage: an Indexed Job whose shard count agrees with its completions and parallelism', () => {
      const job = built.get('sharded-stage')!.find((o) => o.kind === 'Job')!;
      expect(job.spec.completionMode).toBe('Indexed');
      const [c] = job.spec.template.spec.containers;
      const shards = Number(c.env.find((e: Obj) => e.name === 'MLMD_BRIDGE_SHARDS').value);
      expect(shards).toBeGreaterThan(1);
      expect(job.spec.completions).toBe(shards);
      expect(job.spec.parallelism).toBe(shards);
      expect(parseContainer(c).command).toBe('stage');
    });

    it('the shim answers on the addresses of KFP 2.x\'s MLMD services: Service names, ports and port names, probes and metrics on its own ports', () => {
      const objects = built.get('shim')!;
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deployment.spec.template;
      const [c] = pod.spec.containers;
      const { command, opts } = parseContainer(c);
      expect(command).toBe('shim');
      expect(opts.kfp).toBeDefined();
      const portNamed = (name: string) => c.ports.find((p: Obj) => p.name === name)?.containerPort;
      expect(portNamed('grpc-api')).toBe(opts.port);
      expect(portNamed('md-envoy')).toBe(opts.grpcWebPort);
      expect(portNamed('metrics')).toBe(opts.metricsPort);
      expect(pod.metadata.annotations['prometheus.io/port']).toBe(String(opts.metricsPort));
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(c[probe].grpc, probe).toEqual({ port: opts.port });
      // Within the grace period, the shim has stopped by itself.
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(opts.shutdownTimeout as number);

      const services = Object.fromEntries(objects.filter((o) => o.kind === 'Service').map((s) => [s.metadata.name, s]));
      expect(Object.keys(services).sort()).toEqual(['metadata-envoy-service', 'metadata-grpc-service']);
      const expected = { 'metadata-grpc-service': { name: 'grpc-api', port: 8080 }, 'metadata-envoy-service': { name: 'md-envoy', port: 9090 } };
      for (const [name, { name: portName, port }] of Object.entries(expected)) {
        const s = services[name];
        expect(s.spec.ports, name).toEqual([{ name: portName, port, targetPort: portName, protocol: 'TCP' }]);
        for (const [k, v] of Object.entries(s.spec.selector)) expect(pod.metadata.labels[k], `${name} selects ${k}=${v}`).toBe(v);
        expect(portNamed(s.spec.ports[0].targetPort), name).toBeDefined();
      }
    });

    it('the gate: a Component that gives KFP 3\'s ml-pipeline an initContainer running status --require cutover, its own container untouched', () => {
      const d = gated[0]!;
      expect(gated).toHaveLength(1);
      expect(d.spec.template.spec.containers).toEqual(ML_PIPELINE.spec.template.spec.containers);
      const [init] = d.spec.template.spec.initContainers;
      expect(init.name).toBe('mlmd-bridge-gate');
      const { command, opts } = parseContainer(init);
      expect(command).toBe('status');
      expect(opts.require).toBe('cutover');
      expect(opts.kfp).toBeDefined();
    });
  });
});
