/**
 * GetLineageSubgraph: a breadth-first walk over events from the nodes a filter_query selects,
 * alternating artifact → execution → artifact hops, bounded by max_num_hops and cut at "ending"
 * nodes, following MLMD's QueryLineageSubgraph. Nodes come back dehydrated (ids only), as in
 * MLMD; clients hydrate them with the *ByID calls. GetLineageGraph stays UNIMPLEMENTED, as in
 * MLMD's own gRPC server.
 */
import type { MlmdEvent } from '../transform/model.ts';
import type { NodeKey, NodeKind, ShimBackend } from './backend.ts';
import type { CallContext } from './call-context.ts';
import { filterNodes, unique } from './filtering.ts';
import { parseFilterQuery } from './filter-query.ts';
import { firstMatching } from './listing.ts';
import { associationMessage, attributionMessage, eventMessage, type Message, typeMessage } from './messages.ts';
import type { Request, RpcHandlers } from './rpc.ts';
import { invalidArgument, notFound, unimplemented } from './status.ts';

const MAX_HOPS = 100;
/** MLMD reads starting nodes with LIMIT 101. */
const MAX_STARTING_NODES = 101;

const OUTPUT_TYPES = new Set([1, 4, 6, 7]); // DECLARED_OUTPUT, OUTPUT, INTERNAL_OUTPUT, PENDING_OUTPUT
const INPUT_TYPES = new Set([2, 3, 5]); // DECLARED_INPUT, INPUT, INTERNAL_INPUT

const ALL_PATHS = ['artifacts', 'executions', 'contexts', 'artifact_types', 'execution_types', 'context_types', 'events', 'attributions', 'associations'];

interface EndingNodes {
  filter_query?: string;
  include_ending_nodes?: boolean;
}

export function lineageHandlers(backend: ShimBackend): RpcHandlers {
  return {
    GetLineageGraph: async () => {
      throw unimplemented('GetLineageGraph is not implemented; use GetLineageSubgraph.');
    },
    GetLineageSubgraph: (req, call) => lineageSubgraph(backend, req, call),
  };
}

/** Every node id of a kind in id order, as paging keys (the walk needs no times). */
async function allKeysById(backend: ShimBackend, kind: NodeKind): Promise<NodeKey[]> {
  if (backend.nodeIds) return (await backend.nodeIds(kind)).map((id) => ({ id, createMs: 0, updateMs: 0 }));
  return (await backend.nodeKeys(kind, { by: 'all' })).sort((a, b) => a.id - b.id);
}

async function lineageSubgraph(backend: ShimBackend, req: Request, call: CallContext): Promise<Message> {
  const options: Request = req.lineage_subgraph_query_options ?? {};
  const paths: string[] = req.read_mask?.paths?.length ? req.read_mask.paths : ALL_PATHS;
  const fromArtifacts = options.starting_artifacts !== undefined;
  const starting = options.starting_artifacts ?? options.starting_executions;
  if (!starting) throw invalidArgument('Missing arguments for listing starting nodes.');
  if (!starting.filter_query) throw invalidArgument('Cannot list starting nodes if `filter_query` is unspecified.');
  let maxHops = MAX_HOPS;
  if (options.max_num_hops !== undefined) {
    const n = Number(options.max_num_hops);
    if (n < 0) throw invalidArgument(`max_num_hops cannot be negative: max_num_hops = ${options.max_num_hops}`);
    maxHops = Math.min(n, MAX_HOPS);
  }
  const direction: string = options.direction ?? 'DIRECTION_UNSPECIFIED';
  const endingArtifacts: EndingNodes = options.ending_artifacts ?? {};
  const endingExecutions: EndingNodes = options.ending_executions ?? {};

  const startKind: NodeKind = fromArtifacts ? 'artifact' : 'execution';
  const startQuery = parseFilterQuery(starting.filter_query, startKind);
  const allKeys = await allKeysById(backend, startKind);
  const startNodes = await firstMatching(backend, startKind, allKeys, startQuery, MAX_STARTING_NODES, call);
  if (startNodes.length === 0) throw notFound('Cannot find qualified nodes to start the traversal.');

  const visited = { artifact: new Set<number>(), execution: new Set<number>() };
  const ending = { artifact: new Set<number>(), execution: new Set<number>() };
  const events: MlmdEvent[] = [];
  const endingFilter = (kind: 'artifact' | 'execution') => (kind === 'artifact' ? endingArtifacts : endingExecutions);

  const findEnding = async (kind: 'artifact' | 'execution', candidates: number[]): Promise<Set<number>> => {
    const spec = endingFilter(kind);
    if (spec.filter_query === undefined || candidates.length === 0) return new Set();
    const query = parseFilterQuery(spec.filter_query, kind);
    const nodes = await filterNodes(backend, kind, await backend.nodes(kind, candidates), query, call);
    return new Set(nodes.map((n) => n.id));
  };

  let frontier = startNodes.map((n) => n.id);
  for (const id of await findEnding(startKind, frontier)) ending[startKind].add(id);
  frontier = frontier.filter((id) => !ending[startKind].has(id));
  for (const id of frontier) visited[startKind].add(id);

  for (let hop = 0; hop < maxHops; hop++) {
    await call.pause();
    const from: 'artifact' | 'execution' = fromArtifacts === (hop % 2 === 0) ? 'artifact' : 'execution';
    const to: 'artifact' | 'execution' = from === 'artifact' ? 'execution' : 'artifact';
    const hopEvents = await backend.events(from, frontier);
    // Each edge looked at is work: a walk over a large graph ends with RESOURCE_EXHAUSTED, not an unbounded answer.
    call.work(frontier.length + hopEvents.length);
    const candidates = hopEvents.filter((e) => followsDirection(e.type, from, direction));
    const other = (e: MlmdEvent) => (to === 'execution' ? e.executionId : e.artifactId);
    const unvisited = unique(candidates.map(other).filter((id) => !visited[to].has(id) && !ending[to].has(id)));
    for (const id of await findEnding(to, unvisited)) ending[to].add(id);
    const next = unvisited.filter((id) => !ending[to].has(id));
    const includeEnding = endingFilter(to).include_ending_nodes === true;
    const directional = direction === 'UPSTREAM' || direction === 'DOWNSTREAM';
    for (const e of candidates) {
      const id = other(e);
      if (!visited[to].has(id) && !ending[to].has(id)) events.push(e);
      else if (ending[to].has(id)) {
        if (includeEnding) events.push(e);
      } else if (directional) {
        // A directed walk keeps an edge into an already visited node; a bidirectional one would
        // record that edge twice.
        events.push(e);
      }
    }
    for (const id of next) visited[to].add(id);
    frontier = next;
    if (frontier.length === 0) break;
  }

  const artifactIds = [...visited.artifact, ...(endingArtifacts.include_ending_nodes ? ending.artifact : [])].sort((a, b) => a - b);
  const executionIds = [...visited.execution, ...(endingExecutions.include_ending_nodes ? ending.execution : [])].sort((a, b) => a - b);
  const want = new Set(paths);
  const graph: Message = {};
  if (want.has('artifacts')) graph.artifacts = artifactIds.map((id) => ({ id: String(id) }));
  if (want.has('executions')) graph.executions = executionIds.map((id) => ({ id: String(id) }));
  const attributions = want.has('attributions') || want.has('contexts') ? await backend.contextLinks('artifact', 'node', artifactIds) : [];
  const associations = want.has('associations') || want.has('contexts') ? await backend.contextLinks('execution', 'node', executionIds) : [];
  if (want.has('contexts')) {
    const contextIds = unique([...attributions, ...associations].map((l) => l.contextId)).sort((a, b) => a - b);
    graph.contexts = contextIds.map((id) => ({ id: String(id) }));
  }
  if (want.has('events')) graph.events = events.map(eventMessage);
  if (want.has('attributions')) graph.attributions = attributions.map(attributionMessage);
  if (want.has('associations')) graph.associations = associations.map(associationMessage);
  for (const kind of ['artifact', 'execution', 'context'] as const) {
    if (want.has(`${kind}_types`)) {
      graph[`${kind}_types`] = (await backend.types(kind)).map((t) => typeMessage(t, { externalId: false, baseType: false, structTypes: true }));
    }
  }
  return { lineage_subgraph: graph };
}

/** Which events a hop may follow: upstream from an artifact means towards what produced it. */
function followsDirection(type: number, from: 'artifact' | 'execution', direction: string): boolean {
  if (direction !== 'UPSTREAM' && direction !== 'DOWNSTREAM') return true;
  const towardsProducers = (from === 'artifact') === (direction === 'UPSTREAM');
  return towardsProducers ? OUTPUT_TYPES.has(type) : INPUT_TYPES.has(type);
}
