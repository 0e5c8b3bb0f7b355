/**
 * Reading `run_details.PipelineSpecManifest`: YAML (one document, or the pipeline spec beside a
 * platform spec), JSON, and manifests with a broken document — all give the same index, and a
 * manifest with no spec gives null instead of throwing.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePipelineSpec } from '../src/transform/spec.ts';
import { ids, orderedUuid } from '../src/transform/identity.ts';

const spec = {
  pipelineInfo: { name: 'dates-and-loops' },
  root: {
    inputDefinitions: { parameters: { day: { parameterType: 'STRING', defaultValue: '2024-01-31' } } },
    dag: {
      tasks: {
        'make-data': {
          taskInfo: { name: 'make data' },
          componentRef: { name: 'comp-make-data' },
          inputs: { parameters: { day: { componentInputParameter: 'day' } } },
        },
      },
    },
  },
  components: { 'comp-make-data': { executorLabel: 'exec-make-data', inputDefinitions: { parameters: { day: { parameterType: 'STRING' } } } } },
  deploymentSpec: { executors: { 'exec-make-data': { container: { image: 'python:3.11' } } } },
};

function summary(manifest: string) {
  const index = parsePipelineSpec(manifest);
  if (!index) return null;
  const task = index.root.tasks.get('make-data')!;
  return {
    pipelineName: index.pipelineName,
    displayName: task.displayName,
    image: index.imageOf(task),
    parameters: task.parameters,
    executor: index.componentOf(task)?.executorLabel ?? null,
  };
}

const expected = {
  pipelineName: 'dates-and-loops',
  displayName: 'make data',
  image: 'python:3.11',
  parameters: { day: { kind: 'componentInput', name: 'day' } },
  executor: 'exec-make-data',
};

describe('parsePipelineSpec', () => {
  it('reads YAML, JSON and the two-document form alike', () => {
    expect(summary(stringify(spec))).toEqual(expected);
    expect(summary(JSON.stringify(spec))).toEqual(expected);
    expect(summary(JSON.stringify(spec, null, 2))).toEqual(expected);
    expect(summary(`${stringify({ pipelineSpec: spec, platformSpec: { platforms: { kubernetes: {} } } })}`)).toEqual(expected);
    expect(summary(`${stringify(spec)}---\n${stringify({ platforms: { kubernetes: { deploymentSpec: {} } } })}`)).toEqual(expected);
  });

  it('keeps date-like and yes/no scalars as the strings YAML 1.2 reads', () => {
    const manifest = stringify(spec).replace("defaultValue: '2024-01-31'", 'defaultValue: 2024-01-31').replace('image: python:3.11', 'image: yes');
    const index = parsePipelineSpec(manifest)!;
    expect(index.imageOf(index.root.tasks.get('make-data')!)).toBe('yes');
  });

  it('still finds the spec when another document of the manifest is broken', () => {
    const broken = 'platforms: {kubernetes: [unclosed\n';
    expect(summary(`${stringify(spec)}---\n${broken}`)).toEqual(expected);
    expect(summary(`${broken}---\n${stringify(spec)}`)).toEqual(expected);
  });

  it('reads a manifest with a duplicate key as the tolerant reader does (that document is skipped)', () => {
    const dup = `${stringify(spec)}pipelineInfo: {name: again}\n`;
    expect(parsePipelineSpec(dup)).toBeNull();
    expect(summary(`${dup}---\n${stringify(spec)}`)).toEqual(expected);
  });

  it('gives null, never throws, for manifests without a spec', () => {
    for (const m of ['', '   ', 'just text', '{"not": "a spec"}', '{broken json', '- a\n- b\n', ': : :', '\u0000\u0001']) {
      expect(parsePipelineSpec(m)).toBeNull();
    }
    expect(parsePipelineSpec(null)).toBeNull();
  });
});

describe('row ids (transform/identity.ts)', () => {
  it('are deterministic name-based version-8 UUIDs that lead with the MLMD id', () => {
    expect(ids.task(42)).toBe(ids.task(42));
    expect(ids.task(42)).toMatch(/^0000002a-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.artifact(7, 'team-a').slice(0, 8)).toBe('00000007');
    expect(ids.link(0xfffffffe, 'a', 'b').slice(0, 8)).toBe('fffffffe');
  });

  it('ascend with the MLMD id and differ by every part of the name', () => {
    const tasks = [1, 2, 9, 10, 255, 256, 70000, 2 ** 31 - 1].map((n) => ids.task(n));
    expect(tasks).toEqual([...tasks].sort());
    const variants = [
      ids.artifact(5, 'a'),
      ids.artifact(5, 'b'),
      ids.metricRow(5, 'a', 'accuracy'),
      ids.metricRow(5, 'a', 'loss'),
      ids.metricSidecar(5, 'a'),
      ids.task(5),
      ids.link(5, 'x', 'y'),
      ids.link(5, 'x', 'z'),
    ];
    expect(new Set(variants).size).toBe(variants.length);
    // The same MLMD id: the rows of one artifact sit side by side.
    for (const v of variants) expect(v.slice(0, 8)).toBe('00000005');
  });

  it('stay unique for ids beyond 32 bits (only their order is lost)', () => {
    expect(orderedUuid(2 ** 32 + 5, 'execution:4294967301')).not.toBe(orderedUuid(5, 'execution:5'));
    expect(orderedUuid(2 ** 32 + 5, 'execution:4294967301').slice(0, 8)).toBe('00000005');
  });
});
