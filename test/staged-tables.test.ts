/** The staged KFP 3 tables' DDL and expected structure: KFP 3's, with tasks renamed and, on MySQL, its RunUUID FK too. */
import { describe, expect, it } from 'vitest';
import { createTableStatements, expectedStructure } from '../src/load/schema.ts';
import { KFP3_RUN_FK, STAGED_RUN_FK, STAGED_TASKS, stagedCreateStatements, stagedStructure } from '../src/load/staged-tables.ts';

describe('staged tables', () => {
  it('MySQL: tasks is created as tasks_kfp3_staged with its own RunUUID FK name, its parent FK and artifact_tasks pointing at it', () => {
    const [tasks] = stagedCreateStatements('tasks', 'mysql');
    expect(tasks).toMatch(/^CREATE TABLE `tasks_kfp3_staged` \(/);
    expect(tasks).toContain(`CONSTRAINT \`${STAGED_RUN_FK}\` FOREIGN KEY (\`RunUUID\`) REFERENCES \`run_details\`(\`UUID\`)`);
    expect(tasks).toContain('CONSTRAINT `fk_tasks_parent_task` FOREIGN KEY (`ParentTaskUUID`) REFERENCES `tasks_kfp3_staged`(`UUID`)');
    expect(tasks).not.toContain('`tasks`');
    expect(tasks).not.toContain(KFP3_RUN_FK + '`');
    const [links] = stagedCreateStatements('artifact_tasks', 'mysql');
    expect(links).toContain('REFERENCES `tasks_kfp3_staged`(`UUID`,`RunUUID`)');
    expect(stagedCreateStatements('artifacts', 'mysql')).toEqual(createTableStatements('artifacts', 'mysql'));
    expect(STAGED_RUN_FK.length).toBeLessThanOrEqual(64);
  });

  it('SQLite: the FK keeps KFP 3\'s name (only text there), the indexes go on the staged table', () => {
    const statements = stagedCreateStatements('tasks', 'sqlite');
    expect(statements[0]).toMatch(/^CREATE TABLE "tasks_kfp3_staged" \(/);
    expect(statements[0]).toContain(`CONSTRAINT "${KFP3_RUN_FK}" FOREIGN KEY ("RunUUID")`);
    const indexes = statements.slice(1);
    expect(indexes.length).toBe(expectedStructure('tasks', 'sqlite').indexes.length);
    for (const ix of indexes) expect(ix).toContain(`ON "${STAGED_TASKS}" (`);
  });

  it('the expected structure differs from KFP 3\'s only in the table name, the references to it and (MySQL) the RunUUID FK name', () => {
    const staged = stagedStructure('tasks', 'mysql');
    const kfp3 = expectedStructure('tasks', 'mysql');
    expect(staged.name).toBe(STAGED_TASKS);
    expect(staged.columns).toEqual(kfp3.columns);
    expect(staged.indexes).toEqual(kfp3.indexes);
    expect(staged.foreignKeys.map((fk) => [fk.name, fk.refTable])).toEqual([
      ['fk_tasks_parent_task', STAGED_TASKS],
      [STAGED_RUN_FK, 'run_details'],
    ]);
    expect(stagedStructure('artifact_tasks', 'sqlite').foreignKeys.find((fk) => fk.name === 'fk_artifact_tasks_task_run')?.refTable).toBe(STAGED_TASKS);
  });
});
