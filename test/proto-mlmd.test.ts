// Checks proto/mlmd/*.proto against the ml_metadata wire contract: the service
// surface as @grpc/proto-loader sees it, field numbers/defaults as protobufjs
// sees them, and a few byte-level encodings where proto2 semantics matter.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mlmdProtoDir = path.join(repoRoot, 'proto', 'mlmd');
const SERVICE_FILE = 'metadata_store_service.proto';

const LOADER_OPTIONS: protoLoader.Options = {
  includeDirs: [mlmdProtoDir],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

// Plain protobufjs bundles any/struct/field_mask but not descriptor.proto, so
// point google/protobuf/* at the copies shipped inside the protobufjs package.
function loadWithProtobufjs(): protobuf.Root {
  const require = createRequire(import.meta.url);
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    if (target.startsWith('google/protobuf/')) return path.join(protobufjsDir, target);
    return path.join(path.dirname(origin || path.join(mlmdProtoDir, SERVICE_FILE)), target);
  };
  root.loadSync(path.join(mlmdProtoDir, SERVICE_FILE), { keepCase: true });
  root.resolveAll();
  return root;
}

// [field number, wire type] of each top-level field in an encoded message.
function topLevelTags(bytes: Uint8Array): Array<[number, number]> {
  const reader = protobuf.Reader.create(bytes);
  const tags: Array<[number, number]> = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    tags.push([tag >>> 3, tag & 7]);
    reader.skipType(tag & 7);
  }
  return tags;
}

// The 52 RPC names, grouped as upstream declares them.
const RPC_NAMES = [
  'PutArtifactType', 'PutExecutionType', 'PutContextType', 'PutTypes',
  'PutArtifacts', 'PutExecutions', 'PutEvents', 'PutExecution', 'PutLineageSubgraph',
  'PutContexts', 'PutAttributionsAndAssociations', 'PutParentContexts',
  'GetArtifactType', 'GetArtifactTypesByID', 'GetArtifactTypes',
  'GetExecutionType', 'GetExecutionTypesByID', 'GetExecutionTypes',
  'GetContextType', 'GetContextTypesByID', 'GetContextTypes',
  'GetArtifacts', 'GetExecutions', 'GetContexts',
  'GetArtifactsByID', 'GetExecutionsByID', 'GetContextsByID',
  'GetArtifactsByType', 'GetExecutionsByType', 'GetContextsByType',
  'GetArtifactByTypeAndName', 'GetExecutionByTypeAndName', 'GetContextByTypeAndName',
  'GetArtifactsByURI', 'GetEventsByExecutionIDs', 'GetEventsByArtifactIDs',
  'GetArtifactsByExternalIds', 'GetExecutionsByExternalIds', 'GetContextsByExternalIds',
  'GetArtifactTypesByExternalIds', 'GetExecutionTypesByExternalIds', 'GetContextTypesByExternalIds',
  'GetContextsByArtifact', 'GetContextsByExecution',
  'GetParentContextsByContext', 'GetChildrenContextsByContext',
  'GetParentContextsByContexts', 'GetChildrenContextsByContexts',
  'GetArtifactsByContext', 'GetExecutionsByContext',
  'GetLineageGraph', 'GetLineageSubgraph',
] as const;

type MethodDef = protoLoader.MethodDefinition<object, object>;

// proto-loader types the embedded DescriptorProto as plain `object`.
function descriptorName(def: protoLoader.MessageTypeDefinition<object, object>): unknown {
  return (def.type as { name?: unknown }).name;
}

describe('proto/mlmd via @grpc/proto-loader', () => {
  let pkg: protoLoader.PackageDefinition;
  let service: Record<string, MethodDef>;

  beforeAll(() => {
    pkg = protoLoader.loadSync(SERVICE_FILE, LOADER_OPTIONS);
    service = pkg['ml_metadata.MetadataStoreService'] as unknown as Record<string, MethodDef>;
  });

  it('declares exactly the 52 MetadataStoreService RPCs', () => {
    expect(RPC_NAMES.length).toBe(52);
    expect(new Set(RPC_NAMES).size).toBe(52);
    expect(Object.keys(service).sort()).toEqual([...RPC_NAMES].sort());
  });

  it('is accepted by @grpc/grpc-js as a service definition', () => {
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
      ml_metadata: { MetadataStoreService: grpc.ServiceClientConstructor };
    };
    const ctor = loaded.ml_metadata.MetadataStoreService;
    expect(typeof ctor).toBe('function');
    expect(Object.keys(ctor.service)).toHaveLength(52);
  });

  it.each(RPC_NAMES)('%s is unary with <Rpc>Request -> <Rpc>Response', (rpc) => {
    const method = service[rpc];
    expect(method).toBeDefined();
    expect(method!.path).toBe(`/ml_metadata.MetadataStoreService/${rpc}`);
    expect(method!.requestStream).toBe(false);
    expect(method!.responseStream).toBe(false);
    expect(descriptorName(method!.requestType)).toBe(`${rpc}Request`);
    expect(descriptorName(method!.responseType)).toBe(`${rpc}Response`);
    // The same names must be registered as package-level message types.
    expect(pkg[`ml_metadata.${rpc}Request`]).toBeDefined();
    expect(pkg[`ml_metadata.${rpc}Response`]).toBeDefined();
  });

  it('serializes a GetArtifactsRequest without options to zero bytes', () => {
    const bytes = service.GetArtifacts!.requestSerialize({});
    expect(bytes.length).toBe(0);
    // Presence, not value, distinguishes "all rows" from "default paging".
    const withEmptyOptions = service.GetArtifacts!.requestSerialize({ options: {} });
    expect([...withEmptyOptions]).toEqual([0x0a, 0x00]);
    const decoded = service.GetArtifacts!.requestDeserialize(bytes) as Record<string, unknown>;
    expect('options' in decoded).toBe(false);
  });

  it('round-trips int64 as strings, enums as names and oneof discriminators', () => {
    const method = service.GetArtifactsByID!;
    const big = '9007199254740993'; // 2^53 + 1: not representable as a JS number
    const bytes = method.responseSerialize({
      artifacts: [{
        id: big,
        type_id: '7',
        uri: '',
        state: 'LIVE',
        custom_properties: { n: { int_value: '-5' }, s: { string_value: 'x' } },
      }],
    });
    const decoded = method.responseDeserialize(bytes) as {
      artifacts: Array<Record<string, unknown> & { custom_properties: Record<string, Record<string, unknown>> }>;
    };
    const art = decoded.artifacts[0]!;
    expect(art.id).toBe(big);
    expect(art.type_id).toBe('7');
    expect(art.state).toBe('LIVE');
    // proto2 presence: an explicitly empty uri is kept, an unset name is absent.
    expect(art.uri).toBe('');
    expect('name' in art).toBe(false);
    expect(art.custom_properties.n).toEqual({ int_value: '-5', value: 'int_value' });
    expect(art.custom_properties.s).toEqual({ string_value: 'x', value: 'string_value' });
  });

  it('decodes Event.Path.Step as a oneof of index/key', () => {
    const method = service.GetEventsByExecutionIDs!;
    const bytes = method.responseSerialize({
      events: [{ artifact_id: '1', execution_id: '2', type: 'OUTPUT', path: { steps: [{ key: 'model' }, { index: '0' }] } }],
    });
    const decoded = method.responseDeserialize(bytes) as { events: Array<{ type: string; path: { steps: unknown[] } }> };
    expect(decoded.events[0]!.type).toBe('OUTPUT');
    expect(decoded.events[0]!.path.steps).toEqual([
      { key: 'model', value: 'key' },
      { index: '0', value: 'index' },
    ]);
  });
});

describe('proto/mlmd via protobufjs', () => {
  let root: protobuf.Root;
  const type = (name: string): protobuf.Type => root.lookupType(`ml_metadata.${name}`);
  const field = (typeName: string, fieldName: string): protobuf.Field => {
    const f = type(typeName).fields[fieldName];
    if (!f) throw new Error(`no field ${typeName}.${fieldName}`);
    return f;
  };

  beforeAll(() => {
    root = loadWithProtobufjs();
  });

  // [message, field, number, type, repeated?]
  const FIELD_NUMBERS: Array<[string, string, number, string, boolean?]> = [
    ['Value', 'int_value', 1, 'int64'],
    ['Value', 'double_value', 2, 'double'],
    ['Value', 'string_value', 3, 'string'],
    ['Value', 'struct_value', 4, 'google.protobuf.Struct'],
    ['Value', 'proto_value', 5, 'google.protobuf.Any'],
    ['Value', 'bool_value', 6, 'bool'],
    ['Artifact', 'uri', 3, 'string'],
    ['Artifact', 'state', 6, 'State'],
    ['Artifact', 'name', 7, 'string'],
    ['Artifact', 'type', 8, 'string'],
    ['Artifact', 'external_id', 11, 'string'],
    ['Artifact', 'system_metadata', 12, 'google.protobuf.Any'],
    ['Execution', 'last_known_state', 3, 'State'],
    ['Execution', 'name', 6, 'string'],
    ['Execution', 'system_metadata', 11, 'google.protobuf.Any'],
    ['Context', 'name', 3, 'string'],
    ['Context', 'type', 6, 'string'],
    ['Context', 'external_id', 9, 'string'],
    ['Event', 'path', 3, 'Path'],
    ['Event', 'type', 4, 'Type'],
    ['Event', 'milliseconds_since_epoch', 5, 'int64'],
    ['ExecutionType', 'input_type', 4, 'ArtifactStructType'],
    ['ExecutionType', 'version', 6, 'string'],
    ['ExecutionType', 'base_type', 8, 'SystemDefinedBaseType'],
    ['ExecutionType', 'external_id', 9, 'string'],
    ['ArtifactType', 'base_type', 6, 'SystemDefinedBaseType'],
    ['ParentContext', 'child_id', 1, 'int64'],
    ['ParentContext', 'parent_id', 2, 'int64'],
    ['ListOperationNextPageToken', 'listed_ids', 4, 'int64', true],
    ['GetContextsByTypeRequest', 'options', 2, 'ListOperationOptions'],
    ['GetContextsByTypeRequest', 'type_version', 3, 'string'],
    ['GetArtifactsByTypeRequest', 'type_version', 2, 'string'],
    ['GetArtifactsByTypeRequest', 'options', 3, 'ListOperationOptions'],
    ['GetExecutionsByTypeRequest', 'options', 3, 'ListOperationOptions'],
    ['GetArtifactByTypeAndNameRequest', 'artifact_name', 2, 'string'],
    ['GetArtifactByTypeAndNameRequest', 'type_version', 3, 'string'],
    ['GetArtifactsByURIRequest', 'uris', 2, 'string', true],
    ['GetArtifactsByURIRequest', 'transaction_options', 3, 'TransactionOptions'],
    ['GetArtifactsByIDRequest', 'populate_artifact_types', 3, 'bool'],
    ['GetExecutionsByContextResponse', 'transaction_options', 3, 'TransactionOptions'],
    ['PutArtifactTypeRequest', 'can_omit_fields', 5, 'bool'],
    ['PutArtifactTypeRequest', 'transaction_options', 6, 'TransactionOptions'],
    ['PutTypesRequest', 'can_add_fields', 4, 'bool'],
    ['PutTypesRequest', 'can_omit_fields', 7, 'bool'],
    ['PutTypesRequest', 'transaction_options', 8, 'TransactionOptions'],
    ['PutArtifactsRequest', 'update_mask', 4, 'google.protobuf.FieldMask'],
    ['PutExecutionRequest', 'transaction_options', 5, 'TransactionOptions'],
    ['PutLineageSubgraphRequest', 'event_edges', 4, 'EventEdge', true],
    ['PutLineageSubgraphRequest', 'transaction_options', 6, 'TransactionOptions'],
    ['GetLineageSubgraphRequest', 'transaction_options', 2, 'TransactionOptions'],
    ['GetLineageSubgraphRequest', 'read_mask', 3, 'google.protobuf.FieldMask'],
    ['LineageSubgraphQueryOptions', 'starting_artifacts', 1, 'StartingNodes'],
    ['LineageSubgraphQueryOptions', 'starting_executions', 2, 'StartingNodes'],
    ['LineageSubgraphQueryOptions', 'max_num_hops', 3, 'int64'],
    ['LineageSubgraphQueryOptions', 'direction', 4, 'Direction'],
    ['LineageSubgraphQueryOptions', 'ending_artifacts', 5, 'EndingNodes'],
    ['LineageSubgraphQueryOptions', 'ending_executions', 6, 'EndingNodes'],
    ['MigrationOptions', 'enable_upgrade_migration', 3, 'bool'],
    ['ConnectionConfig', 'postgresql', 5, 'PostgreSQLDatabaseConfig'],
    ['ConnectionConfig', 'retry_options', 4, 'RetryOptions'],
  ];

  it.each(FIELD_NUMBERS)('%s.%s is field %i of type %s', (msg, name, id, fieldType, repeated) => {
    const f = field(msg, name);
    expect(f.id).toBe(id);
    expect(f.type).toBe(fieldType);
    expect(f.repeated).toBe(repeated === true);
  });

  // [message, field, default] for every explicit [default = ...] upstream has.
  const DEFAULTS: Array<[string, string, unknown]> = [
    ['ListOperationOptions', 'max_result_size', 20],
    ['ListOperationOptions.OrderByField', 'field', 'ID'],
    ['ListOperationOptions.OrderByField', 'is_asc', true],
    ['LineageGraphQueryOptions', 'max_node_size', 20],
    ['LineageSubgraphQueryOptions.EndingNodes', 'include_ending_nodes', false],
    ['MigrationOptions', 'downgrade_to_schema_version', -1],
    ['GetArtifactsByIDRequest', 'populate_artifact_types', false],
    ['PutArtifactTypeRequest', 'all_fields_match', true],
    ['PutExecutionTypeRequest', 'all_fields_match', true],
    ['PutContextTypeRequest', 'all_fields_match', true],
    ['PutTypesRequest', 'all_fields_match', true],
  ];

  it.each(DEFAULTS)('%s.%s declares [default = %s]', (msg, name, value) => {
    expect(field(msg, name).options?.default).toBe(value);
  });

  it('applies proto2 defaults when decoding an empty message', () => {
    const opts = type('ListOperationOptions');
    const decoded = opts.toObject(opts.decode(new Uint8Array(0)), { defaults: true, enums: String, longs: String });
    expect(decoded.max_result_size).toBe(20);
    const order = type('ListOperationOptions.OrderByField');
    const orderDecoded = order.toObject(order.decode(new Uint8Array(0)), { defaults: true, enums: String });
    expect(orderDecoded).toEqual({ field: 'ID', is_asc: true });
    const migration = type('MigrationOptions');
    const migrationDecoded = migration.toObject(migration.decode(new Uint8Array(0)), { defaults: true, longs: String });
    expect(migrationDecoded.downgrade_to_schema_version).toBe('-1');
    // ...but leaves them off the wire: encoding an empty message stays empty.
    expect(opts.encode(opts.create({})).finish().length).toBe(0);
  });

  it('puts Value members and Event.Path.Step members in their oneofs', () => {
    const valueOneof = type('Value').oneofs.value;
    expect(valueOneof?.oneof).toEqual(['int_value', 'double_value', 'string_value', 'struct_value', 'proto_value', 'bool_value']);
    const step = type('Event.Path.Step');
    expect(step.oneofs.value?.oneof).toEqual(['index', 'key']);
    expect(step.fields.index?.id).toBe(1);
    expect(step.fields.index?.type).toBe('int64');
    expect(step.fields.key?.id).toBe(2);
    expect(step.fields.key?.type).toBe('string');
    const lineage = type('LineageSubgraphQueryOptions');
    expect(lineage.oneofs.starting_nodes?.oneof).toEqual(['starting_artifacts', 'starting_executions']);
    const conn = type('ConnectionConfig');
    expect(conn.oneofs.config?.oneof).toEqual(['fake_database', 'mysql', 'sqlite', 'postgresql']);
  });

  it('reserves field 1 of GetArtifactsByURIRequest and MigrationOptions', () => {
    const req = type('GetArtifactsByURIRequest');
    expect(req.isReservedId(1)).toBe(true);
    expect(req.fieldsById[1]).toBeUndefined();
    const bytes = req.encode(req.create({ uris: ['gs://b/x'] })).finish();
    expect(bytes[0]).toBe((2 << 3) | 2); // field 2, length-delimited
    expect(type('MigrationOptions').isReservedId(1)).toBe(true);
  });

  it('packs PutLineageSubgraphResponse ids and leaves ordinary proto2 repeats unpacked', () => {
    const resp = type('PutLineageSubgraphResponse');
    for (const name of ['execution_ids', 'artifact_ids', 'context_ids']) {
      expect(resp.fields[name]?.packed).toBe(true);
    }
    const packed = resp.encode(resp.create({ execution_ids: [1, 2, 300] })).finish();
    expect([...packed]).toEqual([0x0a, 0x04, 0x01, 0x02, 0xac, 0x02]);

    for (const msg of ['GetParentContextsByContextsRequest', 'GetChildrenContextsByContextsRequest']) {
      expect(field(msg, 'context_ids').packed).toBe(true);
    }
    const unpacked = type('PutExecutionResponse');
    expect(unpacked.fields.artifact_ids?.packed).toBe(false);
    const bytes = unpacked.encode(unpacked.create({ artifact_ids: [1, 2] })).finish();
    expect([...bytes]).toEqual([0x10, 0x01, 0x10, 0x02]);
  });

  it('declares the enum values the MLMD tables store as integers', () => {
    const values = (name: string) => root.lookupEnum(`ml_metadata.${name}`).values;
    expect(values('Artifact.State')).toEqual({
      UNKNOWN: 0, PENDING: 1, LIVE: 2, MARKED_FOR_DELETION: 3, DELETED: 4, ABANDONED: 5, REFERENCE: 6,
    });
    expect(values('Execution.State')).toEqual({
      UNKNOWN: 0, NEW: 1, RUNNING: 2, COMPLETE: 3, FAILED: 4, CACHED: 5, CANCELED: 6,
    });
    expect(values('Event.Type')).toEqual({
      UNKNOWN: 0, DECLARED_OUTPUT: 1, DECLARED_INPUT: 2, INPUT: 3, OUTPUT: 4,
      INTERNAL_INPUT: 5, INTERNAL_OUTPUT: 6, PENDING_OUTPUT: 7,
    });
    expect(values('PropertyType')).toEqual({ UNKNOWN: 0, INT: 1, DOUBLE: 2, STRING: 3, STRUCT: 4, PROTO: 5, BOOLEAN: 6 });
    expect(values('ListOperationOptions.OrderByField.Field')).toEqual({
      FIELD_UNSPECIFIED: 0, CREATE_TIME: 1, LAST_UPDATE_TIME: 2, ID: 3,
    });
    expect(values('LineageSubgraphQueryOptions.Direction')).toEqual({
      DIRECTION_UNSPECIFIED: 0, UPSTREAM: 1, DOWNSTREAM: 2, BIDIRECTIONAL: 3,
    });
  });

  it('carries the system_type_extension option on base-type enum values', () => {
    const ext = root.lookup('ml_metadata.system_type_extension') as protobuf.Field;
    expect(ext.id).toBe(384560917);
    expect(ext.extend).toBe('google.protobuf.EnumValueOptions');
    expect(ext.type).toBe('SystemTypeExtension');
    const typeName = (enumName: string, value: string): unknown =>
      root.lookupEnum(`ml_metadata.${enumName}`).valuesOptions?.[value]?.['(system_type_extension).type_name'];
    expect(typeName('ArtifactType.SystemDefinedBaseType', 'UNSET')).toBe('unset_artifact_type');
    expect(typeName('ArtifactType.SystemDefinedBaseType', 'DATASET')).toBe('mlmd.Dataset');
    expect(typeName('ArtifactType.SystemDefinedBaseType', 'STATISTICS')).toBe('mlmd.Statistics');
    expect(typeName('ExecutionType.SystemDefinedBaseType', 'TRAIN')).toBe('mlmd.Train');
    expect(typeName('ExecutionType.SystemDefinedBaseType', 'DEPLOY')).toBe('mlmd.Deploy');
    expect(typeName('ContextType.SystemDefinedBaseType', 'UNSET')).toBe('unset_context_type');
  });

  it('leaves TransactionOptions open for extensions from 1000 up', () => {
    expect(type('TransactionOptions').extensions).toEqual([[1000, 536870911]]);
  });

  it('keys the by-contexts maps by int64 at field 2', () => {
    const parents = field('GetParentContextsByContextsResponse', 'contexts');
    expect(parents).toBeInstanceOf(protobuf.MapField);
    expect(parents.id).toBe(2);
    expect((parents as unknown as protobuf.MapField).keyType).toBe('int64');
    expect(parents.type).toBe('ParentContextsPerChild');
    const children = field('GetChildrenContextsByContextsResponse', 'contexts');
    expect(children).toBeInstanceOf(protobuf.MapField);
    expect(children.id).toBe(2);
    expect((children as unknown as protobuf.MapField).keyType).toBe('int64');
    expect(children.type).toBe('ChildrenContextsPerParent');
  });

  it('round-trips a ListOperationNextPageToken through web-safe Base64', () => {
    const tokenType = type('ListOperationNextPageToken');
    const token = {
      id_offset: '9223372036854775807',
      field_offset: '1711400000123',
      set_options: {
        max_result_size: 7,
        order_by_field: { field: 'LAST_UPDATE_TIME', is_asc: false },
        filter_query: "name = 'a+b/c?'",
      },
      listed_ids: ['41', '42', '4294967296'],
    };
    const message = tokenType.fromObject(token);
    const bytes = tokenType.encode(message).finish();
    const encoded = Buffer.from(bytes).toString('base64url');
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // no '+', '/' or '=' padding

    const decoded = tokenType.toObject(tokenType.decode(Buffer.from(encoded, 'base64url')), {
      longs: String,
      enums: String,
    });
    expect(decoded).toEqual(token);
    // listed_ids is a proto2 repeated int64 without [packed]: one varint tag per id.
    const listedIdTags = topLevelTags(bytes).filter(([fieldNo]) => fieldNo === 4);
    expect(listedIdTags).toEqual([[4, 0], [4, 0], [4, 0]]);
  });

  it('encodes a GetArtifactsRequest without options as zero bytes', () => {
    const req = type('GetArtifactsRequest');
    expect(req.encode(req.create({})).finish().length).toBe(0);
    const decoded = req.decode(new Uint8Array(0));
    expect(Object.prototype.hasOwnProperty.call(decoded, 'options')).toBe(false);
  });
});
