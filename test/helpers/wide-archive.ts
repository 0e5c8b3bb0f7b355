/**
 * An MLMD archive for tests that load the shim: many artifacts, pipeline and run contexts, and one
 * execution associated with every run context (so that a filter joining its contexts several times
 * has millions of combinations to try).
 */
import { openDb, type Param } from '../../src/db/connection.ts';
import { insertMany } from '../../src/db/insert.ts';
import { createMlmdSchema } from '../../src/seed/mlmd-ddl.ts';

export interface WideArchive {
  artifacts: number;
  /** Contexts of type system.Pipeline, ids 1…pipelines, named pipeline-N. */
  pipelines: number;
  /** Contexts of type system.PipelineRun, ids after the pipelines, named run-N, all associated with execution 1. */
  runContexts: number;
}

export async function buildWideArchive(url: string, size: WideArchive): Promise<void> {
  const db = await openDb(url, { create: true });
  try {
    await createMlmdSchema(db, 10);
    await insertMany(db, 'Type', ['id', 'name', 'type_kind'], [
      [10, 'system.Dataset', 1],
      [11, 'system.ContainerExecution', 0],
      [12, 'system.Pipeline', 2],
      [13, 'system.PipelineRun', 2],
    ]);
    const contexts: Param[][] = [];
    for (let i = 1; i <= size.pipelines; i++) contexts.push([i, 12, `pipeline-${i}`, i, i]);
    for (let i = 1; i <= size.runContexts; i++) contexts.push([size.pipelines + i, 13, `run-${i}`, i, i]);
    await insertMany(db, 'Context', ['id', 'type_id', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch'], contexts);
    await insertMany(
      db,
      'Artifact',
      ['id', 'type_id', 'uri', 'state', 'external_id', 'create_time_since_epoch', 'last_update_time_since_epoch'],
      Array.from({ length: size.artifacts }, (_, i) => [i + 1, 10, `s3://big/${i + 1}`, 2, `ext-${i + 1}`, i, i]),
    );
    await insertMany(db, 'Execution', ['id', 'type_id', 'last_known_state', 'create_time_since_epoch', 'last_update_time_since_epoch'], [[1, 11, 3, 1, 1]]);
    await insertMany(db, 'Association', ['context_id', 'execution_id'], Array.from({ length: size.runContexts }, (_, i) => [size.pipelines + i + 1, 1]));
    await insertMany(db, 'Event', ['id', 'artifact_id', 'execution_id', 'type', 'milliseconds_since_epoch'], [[1, 1, 1, 4, 1]]);
  } finally {
    await db.close();
  }
}
