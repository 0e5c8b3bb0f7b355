/**
 * Type reads: Get{Artifact,Execution,Context}Type, *TypesByID, *Types, *TypesByExternalIds.
 * MLMD's visible rules: a missing type by name is NOT_FOUND; by-id answers keep request order
 * (duplicates too) and skip unknown or other-kind ids; the list-all calls hide the nine built-in
 * `mlmd.*` types and leave external_id out; by-external-id calls refuse empty ids, answer
 * NOT_FOUND when nothing matches, and leave an execution type's input/output types out.
 */
import type { NodeKind, ShimBackend, TypeRecord } from './backend.ts';
import { typeMessage } from './messages.ts';
import { ids, type Request, type RpcHandlers } from './rpc.ts';
import { invalidArgument, notFound } from './status.ts';

const SIMPLE_TYPE_NAMES = new Set([
  'mlmd.Dataset',
  'mlmd.Model',
  'mlmd.Metrics',
  'mlmd.Statistics',
  'mlmd.Train',
  'mlmd.Transform',
  'mlmd.Process',
  'mlmd.Evaluate',
  'mlmd.Deploy',
]);

const KINDS: { kind: NodeKind; prefix: 'Artifact' | 'Execution' | 'Context'; field: string }[] = [
  { kind: 'artifact', prefix: 'Artifact', field: 'artifact_type' },
  { kind: 'execution', prefix: 'Execution', field: 'execution_type' },
  { kind: 'context', prefix: 'Context', field: 'context_type' },
];

/** An unset or empty `type_version` means "the type without a version", as in MLMD. */
export function requestedVersion(req: Request): string | null {
  return typeof req.type_version === 'string' && req.type_version !== '' ? req.type_version : null;
}

export async function findType(backend: ShimBackend, kind: NodeKind, name: unknown, version: string | null): Promise<TypeRecord | null> {
  const wanted = typeof name === 'string' ? name : '';
  return (await backend.types(kind)).find((t) => t.name === wanted && t.version === version) ?? null;
}

export function typeReadHandlers(backend: ShimBackend): RpcHandlers {
  const handlers: RpcHandlers = {};
  for (const { kind, prefix, field } of KINDS) {
    const plural = `${field}s`;
    handlers[`Get${prefix}Type`] = async (req) => {
      const version = requestedVersion(req);
      const type = await findType(backend, kind, req.type_name, version);
      if (!type) {
        throw notFound(`No type found for query, name: \`${String(req.type_name ?? '')}\`, version: \`${version ?? 'nullopt'}\``);
      }
      return { [field]: typeMessage(type, { externalId: true, baseType: true, structTypes: true }) };
    };
    handlers[`Get${prefix}TypesByID`] = async (req, call) => {
      const wanted = ids(call, req.type_ids, 'type_ids');
      const byId = new Map((await backend.types(kind)).map((t) => [t.id, t]));
      const found = wanted.flatMap((id) => {
        const t = byId.get(id);
        return t ? [typeMessage(t, { externalId: true, baseType: true, structTypes: true })] : [];
      });
      return { [plural]: found };
    };
    handlers[`Get${prefix}Types`] = async () => {
      const visible = (await backend.types(kind)).filter((t) => !SIMPLE_TYPE_NAMES.has(t.name));
      return { [plural]: visible.map((t) => typeMessage(t, { externalId: false, baseType: true, structTypes: true })) };
    };
    handlers[`Get${prefix}TypesByExternalIds`] = async (req, call) => {
      const wanted = call.list<string>(req.external_ids, 'external_ids');
      if (wanted.length === 0) return { [plural]: [] };
      if (wanted.some((x) => x === '')) throw invalidArgument('Invalid argument because at least one empty external_id exists.');
      const set = new Set(wanted);
      const found = (await backend.types(kind)).filter((t) => t.externalId !== null && set.has(t.externalId));
      if (found.length === 0) throw notFound('No types found for external_ids.');
      return { [plural]: found.map((t) => typeMessage(t, { externalId: true, baseType: false, structTypes: false })) };
    };
  }
  return handlers;
}
