/**
 * Reading `run_details.PipelineSpecManifest`: YAML (one document, or the pipeline spec beside a
 * platform spec), JSON, and manifests with a broken document — all give the same index, and a
 * manifest with no spec gives null instead of throwing.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePipelineSpec, readPipelineSpec } from '../src/transform/spec.ts';

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

  it('says why a manifest gave no spec, and has no complaint when there is no manifest', () => {
    expect(readPipelineSpec(null)).toEqual({ spec: null, problem: null });
    expect(readPipelineSpec('  \n')).toEqual({ spec: null, problem: null });
    for (const m of ['just text', '{"not": "a spec"}', '- a\n- b\n']) {
      expect(readPipelineSpec(m), m).toEqual({ spec: null, problem: 'holds no PipelineSpec (no document has a root component)' });
    }
    const cut = stringify(spec).replace(/comp-make-data\n[\s\S]*$/, 'comp-make-data\n  broken: [unclosed\n');
    expect(readPipelineSpec(cut)).toEqual({ spec: null, problem: expect.stringMatching(/^is not readable as YAML or JSON \(unexpected end of the stream within a flow collection \(\d+:\d+\)\)$/) });
    expect(readPipelineSpec('{broken json').problem).toMatch(/^is not readable as YAML or JSON \(.+\)$/);
    // Read, it has no problem.
    expect(readPipelineSpec(stringify(spec))).toEqual({ spec: expect.objectContaining({ pipelineName: 'dates-and-loops' }), problem: null });
  });
});
