/** Nodes for filter_query tests: one execution and one artifact with properties of every kind (override any field). */
import type { MlmdArtifact, MlmdExecution } from '../../src/transform/model.ts';

export const execution = (over: Partial<MlmdExecution> = {}): MlmdExecution => ({
  id: 7,
  typeId: 12,
  type: 'system.ContainerExecution',
  name: 'run/7',
  lastKnownState: 3,
  createMs: 1000,
  updateMs: 2000,
  externalId: null,
  properties: {},
  customProperties: {
    parent_dag_id: { kind: 'int', value: 5 },
    task_name: { kind: 'string', value: 'Train-Model' },
    accuracy: { kind: 'double', value: 0.75 },
    cached: { kind: 'bool', value: false },
  },
  ...over,
});

export const artifact = (over: Partial<MlmdArtifact> = {}): MlmdArtifact => ({
  id: 3,
  typeId: 10,
  type: 'system.Dataset',
  uri: 's3://bucket/data',
  state: 2,
  name: null,
  createMs: 100,
  updateMs: 200,
  externalId: null,
  properties: {},
  customProperties: {},
  ...over,
});
