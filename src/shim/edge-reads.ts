/**
 * Reads along the graph's edges: events of executions or artifacts, the contexts of a node, and
 * parent/child contexts. NOT_FOUND only where MLMD answers it: a node with no context links.
 */
import type { ShimBackend } from './backend.ts';
import type { CallContext } from './call-context.ts';
import { unique } from './filtering.ts';
import { contextMessage, eventMessage } from './messages.ts';
import { ids, int64, type RpcHandlers } from './rpc.ts';
import { invalidArgument, notFound } from './status.ts';

export function edgeReadHandlers(backend: ShimBackend): RpcHandlers {
  const contextsByIds = async (contextIds: number[]) => (await backend.nodes('context', unique(contextIds))).map(contextMessage);

  const contextsOf = (side: 'artifact' | 'execution') => async (req: Record<string, unknown>) => {
    const id = int64(req[`${side}_id`]) ?? 0;
    const links = await backend.contextLinks(side, 'node', [id]);
    if (links.length === 0) throw notFound(`No contexts found for ${side}_id: ${id}`);
    return { contexts: await contextsByIds(links.map((l) => l.contextId)) };
  };

  const linkedContexts = (direction: 'parents' | 'children') => async (req: Record<string, unknown>) => {
    const id = int64(req.context_id) ?? 0;
    const links = await backend.parentLinks(direction === 'parents' ? 'child' : 'parent', [id]);
    return { contexts: await contextsByIds(links.map((l) => (direction === 'parents' ? l.parentId : l.childId))) };
  };

  const linkedContextsMap = (direction: 'parents' | 'children') => async (req: Record<string, unknown>, call: CallContext) => {
    const wanted = ids(call, req.context_ids, 'context_ids');
    if (wanted.length === 0) throw invalidArgument('Given context_ids is empty.');
    const byChild = direction === 'parents';
    const links = await backend.parentLinks(byChild ? 'child' : 'parent', wanted);
    const contexts = new Map((await backend.nodes('context', unique(links.map((l) => (byChild ? l.parentId : l.childId))))).map((c) => [c.id, c]));
    const field = byChild ? 'parent_contexts' : 'children_contexts';
    const map: Record<string, { [f: string]: unknown[] }> = {};
    for (const l of links) {
      const [key, other] = byChild ? [l.childId, l.parentId] : [l.parentId, l.childId];
      const c = contexts.get(other);
      if (!c) continue;
      (map[String(key)] ??= { [field]: [] })[field]!.push(contextMessage(c));
    }
    return { contexts: map };
  };

  return {
    GetEventsByExecutionIDs: async (req, call) => ({ events: (await backend.events('execution', ids(call, req.execution_ids, 'execution_ids'))).map(eventMessage) }),
    GetEventsByArtifactIDs: async (req, call) => ({ events: (await backend.events('artifact', ids(call, req.artifact_ids, 'artifact_ids'))).map(eventMessage) }),
    GetContextsByArtifact: contextsOf('artifact'),
    GetContextsByExecution: contextsOf('execution'),
    GetParentContextsByContext: linkedContexts('parents'),
    GetChildrenContextsByContext: linkedContexts('children'),
    GetParentContextsByContexts: linkedContextsMap('parents'),
    GetChildrenContextsByContexts: linkedContextsMap('children'),
  };
}
