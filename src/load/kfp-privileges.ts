/**
 * What the role of a PostgreSQL KFP database must be allowed before `migrate` changes anything:
 * refused up front with the GRANT to run (INSUFFICIENT_PRIVILEGE, exit 2), rather than failing half
 * way. MySQL turns such a user away at the first statement with its own message; SQLite has no roles.
 */
import { currentSchema, mayCreateTables, tableExists, tablesLacking } from '../db/catalog.ts';
import type { Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { BRIDGE_TABLES } from './bridge-tables.ts';
import { isV1TasksTable } from './schema.ts';
import { STAGED_TASKS } from './staged-tables.ts';

/**
 * Whether the connection's role may rename the table: it is (a member of) its owner, or the table is
 * gone already — another shard of a sharded migrate moved it aside between the two catalog reads.
 */
async function mayRenameTable(db: Queryable, name: string): Promise<boolean> {
  const [row] = await db.all<{ owns: boolean }>(
    "SELECT pg_has_role(c.relowner, 'USAGE') AS owns FROM pg_catalog.pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ?",
    [name],
  );
  return row === undefined || row.owns === true;
}

const WRITTEN = ['artifacts', 'tasks', 'artifact_tasks', 'tasks_v1_backup', STAGED_TASKS, ...BRIDGE_TABLES];

export async function refuseWithoutWritePrivileges(db: Queryable): Promise<void> {
  if (db.dialect !== 'postgres') return;
  const [me] = await db.all<{ u: string }>('SELECT current_user AS u');
  const role = me?.u ?? '?';
  const schema = await currentSchema(db);
  const refuse = (problem: string, hint: string) => {
    throw new BridgeError('INSUFFICIENT_PRIVILEGE', `the role "${role}" ${problem}`, hint);
  };
  if (schema === null) refuse('may use no schema of its search_path in the KFP database', `grant it one: GRANT USAGE ON SCHEMA public TO "${role}" (or set its search_path)`);
  // The KFP 3 FKs reference run_details: creating them needs REFERENCES on it.
  if ((await tablesLacking(db, ['run_details'], ['SELECT', 'REFERENCES'])).length > 0) {
    refuse('may not read or reference run_details in the KFP database', `grant it: GRANT SELECT, REFERENCES ON "${schema}".run_details TO "${role}"`);
  }
  const lacking = await tablesLacking(db, WRITTEN, ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  if (lacking.length > 0) {
    refuse(`may not write the table${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')} of the KFP database`, `grant it: GRANT SELECT, INSERT, UPDATE, DELETE ON ${lacking.map((t) => `"${schema}".${t}`).join(', ')} TO "${role}"`);
  }
  // Moving the KFP 2.x tasks table aside renames it, which only its owner may; stage is refused too,
  // so that this is known before the maintenance window rather than at its cut-over.
  if ((await isV1TasksTable(db)) && !(await mayRenameTable(db, 'tasks'))) {
    refuse(
      'does not own the KFP 2.x tasks table, which migrate (or cutover, after stage) renames to tasks_v1_backup',
      `run mlmd-bridge as the role that owns it (the KFP API server's), or: ALTER TABLE "${schema}".tasks OWNER TO "${role}"`,
    );
  }
  const missing = [];
  for (const t of ['artifacts', 'tasks', 'artifact_tasks', ...BRIDGE_TABLES]) if (!(await tableExists(db, t))) missing.push(t);
  if (missing.length > 0 && !(await mayCreateTables(db))) {
    refuse(`may not create tables in the schema "${schema}" of the KFP database (${missing.join(', ')} are to be created)`, `grant it: GRANT CREATE ON SCHEMA "${schema}" TO "${role}"`);
  }
}
