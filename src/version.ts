/** This tool's version: shown by `--version` and recorded with every migrated run (mlmd_bridge_runs.tool_version). */
export const TOOL_VERSION = '0.1.0';
