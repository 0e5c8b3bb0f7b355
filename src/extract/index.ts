/** The read side of mlmd-bridge: MLMD databases and the KFP 2.x `run_details` they belong to. */
export { openMlmdSource, type MlmdSource, type RunContextSummary } from './mlmd-reader.ts';
export { readRunDetails, readRunDetailsDigests } from './run-details.ts';
export { decodeValue, encodeStructValue, decodeStructText, splitProperties, STRUCT_PREFIX } from './values.ts';
export { SUPPORTED_SCHEMA_VERSIONS, type SupportedSchemaVersion, ColumnCatalog } from './schema-version.ts';
export type { SourceCounts, NonKfpRecord } from './source-census.ts';
export { PIPELINE_RUN_TYPE, PIPELINE_TYPE } from './run-bundles.ts';
export { readRunVersions, versionOfBundle } from './run-versions.ts';
export { readKfpRunRows, toTaskRow, toArtifactRow, toLinkRow, toIdMapRow } from './kfp-reader.ts';
