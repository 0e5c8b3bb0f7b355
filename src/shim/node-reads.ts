/**
 * Node reads: listings (GetArtifacts, *ByType, *ByContext), lookups by id, by type and name, by
 * URI and by external id — for artifacts, executions and contexts alike.
 */
import type { NodeKind, NodeScope, ShimBackend, TypeRecord } from './backend.ts';
import type { CallContext } from './call-context.ts';
import { unique } from './filtering.ts';
import { type Listing, listNodes } from './listing.ts';
import { nodeMessage, typeMessage } from './messages.ts';
import type { ListOptionsMessage } from './paging.ts';
import { DEPRECATED_URI_FIELD } from './request-guard.ts';
import { ids, int64, type RpcHandlers } from './rpc.ts';
import { invalidArgument, notFound } from './status.ts';
import { findType, requestedVersion } from './type-reads.ts';

interface KindNames {
  kind: NodeKind;
  /** `Artifact` */
  one: string;
  /** `Artifacts` */
  many: string;
  /** Response field for lists: `artifacts`. */
  listField: string;
  /** Response field for one node: `artifact`. */
  oneField: string;
  /** Request field of *ByID: `artifact_ids`. */
  idsField: string;
  /** Request field of *ByTypeAndName: `artifact_name`. */
  nameField: string;
}

const KINDS: KindNames[] = [
  { kind: 'artifact', one: 'Artifact', many: 'Artifacts', listField: 'artifacts', oneField: 'artifact', idsField: 'artifact_ids', nameField: 'artifact_name' },
  { kind: 'execution', one: 'Execution', many: 'Executions', listField: 'executions', oneField: 'execution', idsField: 'execution_ids', nameField: 'execution_name' },
  { kind: 'context', one: 'Context', many: 'Contexts', listField: 'contexts', oneField: 'context', idsField: 'context_ids', nameField: 'context_name' },
];

export function nodeReadHandlers(backend: ShimBackend): RpcHandlers {
  const handlers: RpcHandlers = {};
  for (const k of KINDS) {
    const answer = ({ nodes, nextPageToken }: Listing<NodeKind>) => {
      const out: Record<string, unknown> = { [k.listField]: nodes.map((n) => nodeMessage(k.kind, n)) };
      if (nextPageToken !== undefined) out.next_page_token = nextPageToken;
      return out;
    };
    const list = async (scope: NodeScope, options: ListOptionsMessage | undefined, call: CallContext) => answer(await listNodes(backend, k.kind, scope, options, call));

    handlers[`Get${k.many}`] = (req, call) => list({ by: 'all' }, req.options, call);

    handlers[`Get${k.many}ByID`] = async (req, call) => {
      const nodes = await backend.nodes(k.kind, ids(call, req[k.idsField], k.idsField));
      const out: Record<string, unknown> = { [k.listField]: nodes.map((n) => nodeMessage(k.kind, n)) };
      if (k.kind === 'artifact' && req.populate_artifact_types === true) {
        // MLMD reads each type off the artifact rows it joins them to: once, in the order the
        // artifacts first use it, with the columns that join selects.
        const byId = new Map((await backend.types('artifact')).map((t) => [t.id, t]));
        const types = unique(nodes.map((n) => n.typeId)).flatMap((id) => byId.get(id) ?? []);
        out.artifact_types = types.map((t) => typeMessage(t, { externalId: true, baseType: false, structTypes: false }));
      }
      return out;
    };

    handlers[`Get${k.many}ByType`] = async (req, call) => {
      const type = await findType(backend, k.kind, req.type_name, requestedVersion(req));
      if (!type) return { [k.listField]: [] };
      const listing = await listNodes(backend, k.kind, { by: 'type', typeId: type.id }, req.options, call);
      const out = answer(listing);
      // With options MLMD sets the token on these calls, empty on the last page; but a type without
      // any node ends its lookup before the token is set.
      if (req.options !== undefined && !listing.emptyScope && out.next_page_token === undefined) out.next_page_token = '';
      return out;
    };

    handlers[`Get${k.one}ByTypeAndName`] = async (req) => {
      const type: TypeRecord | null = await findType(backend, k.kind, req.type_name, requestedVersion(req));
      if (!type) return {};
      const name = typeof req[k.nameField] === 'string' ? (req[k.nameField] as string) : '';
      const keys = await backend.nodeKeys(k.kind, { by: 'type', typeId: type.id, name });
      const [node] = await backend.nodes(k.kind, keys.map((key) => key.id));
      return node ? { [k.oneField]: nodeMessage(k.kind, node) } : {};
    };

    handlers[`Get${k.many}ByExternalIds`] = async (req, call) => {
      const wanted = call.list<string>(req.external_ids, 'external_ids');
      if (wanted.length === 0) return { [k.listField]: [] };
      if (wanted.some((x) => x === '')) throw invalidArgument('Invalid argument because at least one empty external_id exists.');
      const keys = await backend.nodeKeys(k.kind, { by: 'externalId', externalIds: [...new Set(wanted)] });
      if (keys.length === 0) throw notFound(`No ${k.listField} found for external_ids.`);
      const nodes = await backend.nodes(k.kind, keys.map((key) => key.id));
      return { [k.listField]: nodes.map((n) => nodeMessage(k.kind, n)) };
    };

    if (k.kind !== 'context') {
      handlers[`Get${k.many}ByContext`] = (req, call) => list({ by: 'context', contextId: int64(req.context_id) ?? 0 }, req.options, call);
    }
  }

  handlers.GetArtifactsByURI = async (req, call) => {
    if ((req as Record<symbol, unknown>)[DEPRECATED_URI_FIELD]) {
      throw invalidArgument(
        'The request contains deprecated field `uri`. Please upgrade the client library version above 0.21.0. ' +
          'GetArtifactsByURIRequest carries its URIs in `uris` (field 2).',
      );
    }
    const uris = [...new Set(call.list<string>(req.uris, 'uris'))];
    if (uris.length === 0) return { artifacts: [] };
    const keys = await backend.nodeKeys('artifact', { by: 'uri', uris });
    const nodes = await backend.nodes('artifact', keys.map((key) => key.id));
    return { artifacts: nodes.map((n) => nodeMessage('artifact', n)) };
  };

  return handlers;
}
