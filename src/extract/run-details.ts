/**
 * Reads the KFP 2.x `run_details` rows of a batch of runs (kfp-facts.md §C.4), with the namespace
 * of each run's experiment. Deployments differ in which columns they have (the table gained
 * columns over KFP releases), so the columns are looked up once per connection and missing ones
 * read as NULL.
 */
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import type { KfpRunDetails } from '../transform/model.ts';
import { type ColumnCatalog, readColumnCatalog } from './schema-version.ts';
import { chunked, num, placeholders, textOrNull } from '../db/sql.ts';

const RUN_COLUMNS = [
  'DisplayName',
  'Name',
  'Namespace',
  'ExperimentUUID',
  'State',
  'Conditions',
  'CreatedAtInSec',
  'FinishedAtInSec',
  'PipelineName',
  'PipelineSpecManifest',
  'PipelineRoot',
] as const;

const catalogs = new WeakMap<Queryable, Promise<ColumnCatalog>>();

function catalogOf(kfp: Queryable): Promise<ColumnCatalog> {
  let c = catalogs.get(kfp);
  if (!c) {
    c = readColumnCatalog(kfp);
    catalogs.set(kfp, c);
    c.catch(() => catalogs.delete(kfp));
  }
  return c;
}

export async function readRunDetails(kfp: Db, uuids: string[]): Promise<Map<string, KfpRunDetails>> {
  const catalog = await catalogOf(kfp);
  if (!catalog.has('run_details', 'UUID')) {
    throw new BridgeError(
      'NOT_KFP_DATABASE',
      `${kfp.target.display} has no run_details table with a UUID column, so it is not a KFP database`,
      'point --kfp at the KFP API server database (usually mlpipeline)',
    );
  }
  const withExperiments = catalog.has('experiments', 'UUID') && catalog.has('experiments', 'Namespace');
  const columns = RUN_COLUMNS.map((c) => catalog.select('r', 'run_details', c)).join(', ');
  const experimentJoin = withExperiments && catalog.has('run_details', 'ExperimentUUID');
  // A run created from a stored pipeline version may leave PipelineSpecManifest empty; the version holds the spec.
  const versionJoin =
    catalog.has('run_details', 'PipelineVersionId') && catalog.has('pipeline_versions', 'UUID') && catalog.has('pipeline_versions', 'PipelineSpec');
  const sql =
    `SELECT r.\`UUID\`, ${columns}, ${experimentJoin ? 'x.`Namespace`' : 'NULL'} AS experiment_namespace, ` +
    `${versionJoin ? versionSpecOf(catalog) : 'NULL'} AS version_spec FROM \`run_details\` r ` +
    (experimentJoin ? 'LEFT JOIN `experiments` x ON x.`UUID` = r.`ExperimentUUID` ' : '') +
    (versionJoin ? 'LEFT JOIN `pipeline_versions` v ON v.`UUID` = r.`PipelineVersionId` ' : '') +
    'WHERE r.`UUID` IN ';

  const out = new Map<string, KfpRunDetails>();
  for (const ids of chunked([...new Set(uuids)])) {
    const rows = await kfp.all<Record<string, unknown>>(`${sql}(${placeholders(ids.length)})`, ids);
    for (const r of rows) {
      const uuid = String(r.UUID);
      out.set(uuid, {
        uuid,
        displayName: textOrNull(r.DisplayName) ?? '',
        name: textOrNull(r.Name) ?? '',
        namespace: textOrNull(r.Namespace) ?? '',
        experimentUuid: textOrNull(r.ExperimentUUID) ?? '',
        experimentNamespace: textOrNull(r.experiment_namespace),
        state: runState(textOrNull(r.State), textOrNull(r.Conditions)),
        createdAtInSec: r.CreatedAtInSec == null ? 0 : num(r.CreatedAtInSec),
        finishedAtInSec: r.FinishedAtInSec == null ? 0 : num(r.FinishedAtInSec),
        pipelineName: textOrNull(r.PipelineName),
        pipelineSpecManifest: textOrNull(r.PipelineSpecManifest) || textOrNull(r.version_spec),
        pipelineRoot: textOrNull(r.PipelineRoot),
      });
    }
  }
  return out;
}

/** The version's spec only where the run has none: sending both would double the largest column read. */
function versionSpecOf(catalog: ColumnCatalog): string {
  if (!catalog.has('run_details', 'PipelineSpecManifest')) return 'v.`PipelineSpec`';
  return "CASE WHEN r.`PipelineSpecManifest` IS NULL OR r.`PipelineSpecManifest` = '' THEN v.`PipelineSpec` END";
}

/**
 * Runs written before `State` existed keep their state in the v1 `Conditions` text; KFP itself
 * reads such rows by mapping the v1 word onto the v2 state, and so does this.
 */
function runState(state: string | null, conditions: string | null): string | null {
  if (state) return state;
  if (!conditions) return state;
  return V1_TO_V2_STATE[conditions.toUpperCase()] ?? 'RUNTIME_STATE_UNSPECIFIED';
}

const V1_TO_V2_STATE: Record<string, string> = {
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  ENABLED: 'RUNNING',
  READY: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  DONE: 'SUCCEEDED',
  SKIPPED: 'SKIPPED',
  FAILED: 'FAILED',
  ERROR: 'FAILED',
  CANCELING: 'CANCELING',
  TERMINATING: 'CANCELING',
  CANCELED: 'CANCELED',
  DISABLED: 'CANCELED',
  PAUSED: 'PAUSED',
};

/**
 * A digest per run UUID of the run_details fields KFP 2.x changes as a run goes on: `Conditions` and
 * `FinishedAtInSec` (the API server and the persistence agent update them together with `State` in
 * every status change, terminate and retry), and `Namespace`. `stage` compares them with the last
 * true-up's to find runs that finished, were retried, appeared or were deleted since. These columns
 * and the key are exactly KFP 2.x's index `namespace_conditions_finishedatinsec`, so the whole table
 * is read from that index alone (15,000 runs: 20 ms, against 850 ms once `State` makes the server
 * read the rows, whose manifests do not fit its buffer pool).
 */
export async function readRunDetailsDigests(kfp: Db): Promise<Map<string, string>> {
  const catalog = await catalogOf(kfp);
  const cols = ['Namespace', 'Conditions', 'FinishedAtInSec'].map((c) => catalog.select('r', 'run_details', c)).join(', ');
  const rows = await kfp.all<Record<string, unknown>>(`SELECT r.\`UUID\` AS uuid, ${cols} FROM \`run_details\` r`);
  const out = new Map<string, string>();
  for (const r of rows) {
    const text = [r.Namespace, r.Conditions, r.FinishedAtInSec].map((v) => (v == null ? '\u0000' : String(v))).join('\u0001');
    out.set(String(r.uuid), createHash('sha256').update(text).digest('hex').slice(0, 32));
  }
  return out;
}
