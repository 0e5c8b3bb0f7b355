import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  decodeKfpJson,
  decodeKfpJsonList,
  decodeKfpJsonOrNull,
  encodeKfpJson,
  encodeKfpJsonList,
  encodeKfpJsonOrNull,
  goJsonStringify,
  kfpEnumName,
  kfpEnumNumber,
  KfpJsonError,
  type KfpMessageName,
} from '../src/proto/kfp-json.ts';

const DRIVER_UID = '4f2c9a8e-1d3b-4c5e-9f60-7a8b9c0d1e2f';
const EXEC_UID = '9a1b2c3d-4e5f-4061-8a7b-8c9d0e1f2a3b';

/** Column texts in the shapes kfp-facts.md §C.8 gives for what the KFP 3 server writes. */
const SERVER_SHAPES: { column: string; name: KfpMessageName; list: boolean; text: string }[] = [
  {
    column: 'pods',
    name: 'TaskPod',
    list: true,
    text: `[{"name":"p-driver-123","type":"DRIVER","uid":"${DRIVER_UID}"},{"name":"p-exec-456","type":"EXECUTOR","uid":"${EXEC_UID}"}]`,
  },
  {
    column: 'InputParameters',
    name: 'IOParameter',
    list: true,
    text: '[{"parameterKey":"lr","producer":{"taskName":"ROOT"},"type":"RUNTIME_VALUE_INPUT","value":0.1}]',
  },
  {
    column: 'OutputParameters',
    name: 'IOParameter',
    list: true,
    text: '[{"parameterKey":"Output","producer":{"iteration":"2","taskName":"train"},"type":"ITERATOR_OUTPUT","value":"ok"}]',
  },
  { column: 'TypeAttrs (LOOP)', name: 'TypeAttributes', list: false, text: '{"iterationCount":"3"}' },
  { column: 'TypeAttrs (iteration 2)', name: 'TypeAttributes', list: false, text: '{"iterationIndex":"2"}' },
  { column: 'TypeAttrs (importer)', name: 'TypeAttributes', list: false, text: '{"downloadToWorkspace":false}' },
  { column: 'TypeAttrs (root)', name: 'TypeAttributes', list: false, text: '{}' },
  {
    column: 'StateHistory',
    name: 'TaskStatus',
    list: true,
    text: '[{"state":"RUNNING","updateTime":"2026-05-01T12:00:00Z"},{"state":"SUCCEEDED","updateTime":"2026-05-01T12:03:07Z"}]',
  },
  { column: 'StatusMetadata', name: 'StatusMetadata', list: false, text: '{"message":"driver error: pod p-driver-123 failed"}' },
  { column: 'StatusMetadata (cached)', name: 'StatusMetadata', list: false, text: '{}' },
  { column: 'Producer (iteration)', name: 'IOProducer', list: false, text: '{"iteration":"2","taskName":"train"}' },
  { column: 'Producer', name: 'IOProducer', list: false, text: '{"taskName":"train"}' },
];

function expectKfpError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KfpJsonError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('the C.8 column shapes', () => {
  for (const shape of SERVER_SHAPES) {
    it(`${shape.column} decodes and re-encodes byte for byte`, () => {
      const again = shape.list
        ? encodeKfpJsonList(shape.name, decodeKfpJsonList(shape.name, shape.text))
        : encodeKfpJson(shape.name, decodeKfpJson(shape.name, shape.text));
      expect(again).toBe(shape.text);
    });
  }

  it('are produced from hand-written inputs in any key order, with numeric enums and int64 numbers', () => {
    expect(
      encodeKfpJsonList('TaskPod', [
        { uid: DRIVER_UID, type: 1, name: 'p-driver-123' },
        { type: 'EXECUTOR', name: 'p-exec-456', uid: EXEC_UID },
      ]),
    ).toBe(SERVER_SHAPES[0]!.text);
    expect(
      encodeKfpJsonList('IOParameter', [{ value: 0.1, type: 4, producer: { taskName: 'ROOT' }, parameterKey: 'lr' }]),
    ).toBe(SERVER_SHAPES[1]!.text);
    expect(
      encodeKfpJsonList('IOParameter', [
        { value: 'ok', type: 'ITERATOR_OUTPUT', producer: { taskName: 'train', iteration: 2 }, parameterKey: 'Output' },
      ]),
    ).toBe(SERVER_SHAPES[2]!.text);
    expect(encodeKfpJson('TypeAttributes', { iterationCount: 3 })).toBe('{"iterationCount":"3"}');
    expect(encodeKfpJson('TypeAttributes', { iterationIndex: 2n })).toBe('{"iterationIndex":"2"}');
    expect(encodeKfpJson('TypeAttributes', { downloadToWorkspace: false })).toBe('{"downloadToWorkspace":false}');
    expect(encodeKfpJson('TypeAttributes', {})).toBe('{}');
    expect(
      encodeKfpJsonList('TaskStatus', [
        { updateTime: '2026-05-01T12:00:00Z', state: 'RUNNING' },
        { updateTime: { seconds: 1777636987, nanos: 0 }, state: 2 },
      ]),
    ).toBe(SERVER_SHAPES[7]!.text);
    expect(encodeKfpJson('StatusMetadata', {})).toBe('{}');
    expect(encodeKfpJson('IOProducer', { taskName: 'train', iteration: '2' })).toBe('{"iteration":"2","taskName":"train"}');
  });

  it('decodes to camelCase plain objects with enum names and int64 strings', () => {
    expect(decodeKfpJsonList('IOParameter', SERVER_SHAPES[2]!.text)).toEqual([
      { parameterKey: 'Output', producer: { iteration: '2', taskName: 'train' }, type: 'ITERATOR_OUTPUT', value: 'ok' },
    ]);
    expect(decodeKfpJson('TypeAttributes', '{"downloadToWorkspace":false}')).toEqual({ downloadToWorkspace: false });
  });
});

describe('int64 fields', () => {
  it('are written as JSON strings whatever form they come in', () => {
    for (const v of [7, 7n, '7']) {
      expect(encodeKfpJson('IOProducer', { taskName: 't', iteration: v })).toBe('{"iteration":"7","taskName":"t"}');
    }
    expect(encodeKfpJson('TypeAttributes', { iterationIndex: -1 })).toBe('{"iterationIndex":"-1"}');
  });

  it('keep all 64 bits', () => {
    expect(encodeKfpJson('TypeAttributes', { iterationCount: 9223372036854775807n })).toBe(
      '{"iterationCount":"9223372036854775807"}',
    );
    expect(encodeKfpJson('TypeAttributes', { iterationCount: '-9223372036854775808' })).toBe(
      '{"iterationCount":"-9223372036854775808"}',
    );
  });

  it('reject out-of-range, unsafe and non-integer values', () => {
    expectKfpError(() => encodeKfpJson('TypeAttributes', { iterationCount: 2n ** 63n }), /iterationCount.*out of range/);
    expectKfpError(() => encodeKfpJson('TypeAttributes', { iterationCount: 2 ** 60 }), /safe integer/);
    expectKfpError(() => encodeKfpJson('TypeAttributes', { iterationCount: 1.5 }), /safe integer/);
    expectKfpError(() => encodeKfpJson('TypeAttributes', { iterationCount: '1e3' }), /integer/);
    expectKfpError(() => encodeKfpJson('TypeAttributes', { iterationCount: true }), /integer/);
  });

  it('decode from JSON numbers or strings into canonical strings', () => {
    expect(decodeKfpJson('IOProducer', '{"iteration":2,"taskName":"t"}')).toEqual({ iteration: '2', taskName: 't' });
    expect(decodeKfpJson('IOProducer', '{"iteration":"02"}')).toEqual({ iteration: '2' });
  });
});

describe('enums', () => {
  it('are written by name', () => {
    expect(encodeKfpJson('TaskStatus', { state: 5 })).toBe('{"state":"CACHED"}');
    expect(encodeKfpJson('IOParameter', { type: 11 })).toBe('{"type":"TASK_FINAL_STATUS_OUTPUT"}');
  });

  it('reject unknown names and numbers when encoding', () => {
    expectKfpError(() => encodeKfpJson('TaskStatus', { state: 'CANCELED' }), /TaskStatus\.state: unknown .*TaskState value "CANCELED"/);
    expectKfpError(() => encodeKfpJson('TaskStatus', { state: 6 }), /6 is not a value of .*TaskState/);
    expectKfpError(() => encodeKfpJson('TaskPod', { type: 'driver' }), /unknown .*TaskPodType/);
  });

  it('keep an unknown number when decoding, as protojson does', () => {
    expect(decodeKfpJson('TaskStatus', '{"state":9}')).toEqual({ state: 9 });
    expect(decodeKfpJson('TaskStatus', '{"state":4}')).toEqual({ state: 'FAILED' });
    expectKfpError(() => decodeKfpJson('TaskStatus', '{"state":"NOPE"}'), /unknown/);
  });

  it('map between column numbers and names as kfp-facts.md §C.7 lists them', () => {
    const expected: Record<string, string[]> = {
      ArtifactType: ['TYPE_UNSPECIFIED', 'Artifact', 'Model', 'Dataset', 'HTML', 'Markdown', 'Metric', 'ClassificationMetric', 'SlicedClassificationMetric'],
      IOType: ['UNSPECIFIED', 'COMPONENT_DEFAULT_INPUT', 'TASK_OUTPUT_INPUT', 'COMPONENT_INPUT', 'RUNTIME_VALUE_INPUT', 'COLLECTED_INPUTS',
        'ITERATOR_INPUT', 'ITERATOR_INPUT_RAW', 'ITERATOR_OUTPUT', 'OUTPUT', 'ONE_OF_OUTPUT', 'TASK_FINAL_STATUS_OUTPUT'],
      TaskType: ['TASK_TYPE_UNSPECIFIED', 'ROOT', 'RUNTIME', 'CONDITION_BRANCH', 'CONDITION', 'LOOP', 'EXIT_HANDLER', 'IMPORTER', 'DAG'],
      TaskState: ['RUNTIME_STATE_UNSPECIFIED', 'RUNNING', 'SUCCEEDED', 'SKIPPED', 'FAILED', 'CACHED'],
      TaskPodType: ['UNSPECIFIED', 'DRIVER', 'EXECUTOR'],
    };
    for (const [enumName, names] of Object.entries(expected)) {
      names.forEach((valueName, n) => {
        expect(kfpEnumNumber(enumName as 'IOType', valueName)).toBe(n);
        expect(kfpEnumName(enumName as 'IOType', n)).toBe(valueName);
      });
      expectKfpError(() => kfpEnumName(enumName as 'IOType', names.length), /unknown value number/);
    }
    expectKfpError(() => kfpEnumNumber('TaskState', 'CANCELED'), /unknown value name/);
  });
});

describe('field presence', () => {
  it('writes proto3 optional fields even at their zero value', () => {
    expect(encodeKfpJson('TypeAttributes', { iterationIndex: 0, iterationCount: '0', downloadToWorkspace: false })).toBe(
      '{"downloadToWorkspace":false,"iterationCount":"0","iterationIndex":"0"}',
    );
    expect(encodeKfpJson('IOProducer', { taskName: '', iteration: 0 })).toBe('{"iteration":"0"}');
    expect(encodeKfpJson('IOParameter', { producer: {} })).toBe('{"producer":{}}');
  });

  it('leaves out implicit-presence fields at their zero value, and empty lists and maps', () => {
    expect(encodeKfpJson('TaskPod', { name: '', uid: '', type: 'UNSPECIFIED' })).toBe('{}');
    expect(encodeKfpJson('IOParameter', { parameterKey: '', type: 0 })).toBe('{}');
    expect(encodeKfpJson('StatusMetadata', { message: '', customProperties: {} })).toBe('{}');
    expect(encodeKfpJson('TaskStatus', { state: 'RUNTIME_STATE_UNSPECIFIED', error: { code: 0, message: '', details: [] } })).toBe(
      '{"error":{}}',
    );
    expect(encodeKfpJson('TaskPod', { name: '0' })).toBe('{"name":"0"}');
  });

  it('treats undefined and null as unset, except that a null Value is JSON null', () => {
    expect(encodeKfpJson('IOProducer', { taskName: 't', iteration: undefined })).toBe('{"taskName":"t"}');
    expect(encodeKfpJson('IOParameter', { parameterKey: 'p', producer: null })).toBe('{"parameterKey":"p"}');
    expect(encodeKfpJson('IOParameter', { parameterKey: 'p', value: null })).toBe('{"parameterKey":"p","value":null}');
    expect(decodeKfpJson('IOParameter', '{"parameterKey":"p","value":null}')).toEqual({ parameterKey: 'p', value: null });
  });

  it('decodes to the same canonical form, dropping zero values the server would not write', () => {
    expect(decodeKfpJson('TaskPod', '{"name":"","type":"UNSPECIFIED","uid":"u"}')).toEqual({ uid: 'u' });
  });
});

describe('unknown fields', () => {
  it('are rejected when encoding, including proto (snake_case) names', () => {
    expectKfpError(() => encodeKfpJson('IOProducer', { taskName: 't', task: 'x' }), /IOProducer\.task: unknown field/);
    expectKfpError(() => encodeKfpJson('IOProducer', { task_name: 't' }), /unknown field/);
    expectKfpError(() => encodeKfpJson('TaskStatus', { error: { code: 1, reason: 'x' } }), /TaskStatus\.error\.reason: unknown field/);
  });

  it('are rejected when decoding, while proto names are accepted there as protojson does', () => {
    expect(decodeKfpJson('IOParameter', '{"parameter_key":"k","producer":{"task_name":"t"}}')).toEqual({
      parameterKey: 'k',
      producer: { taskName: 't' },
    });
    expectKfpError(() => decodeKfpJson('IOParameter', '{"parameterKey":"k","key":"x"}'), /unknown field/);
    expectKfpError(() => decodeKfpJson('IOProducer', '{"taskName":"a","task_name":"b"}'), /given twice/);
  });

  it('rejects values of the wrong JSON type', () => {
    expectKfpError(() => encodeKfpJson('TaskPod', { name: 5 }), /TaskPod\.name: expected a string/);
    expectKfpError(() => encodeKfpJson('TypeAttributes', { downloadToWorkspace: 'false' }), /expected a boolean/);
    expectKfpError(() => encodeKfpJson('StatusMetadata', { customProperties: [] }), /expected an object for a map/);
  });
});

describe('google.protobuf.Value fields', () => {
  it('become plain JSON with Go key order and number formatting', () => {
    expect(
      encodeKfpJson('StatusMetadata', {
        message: 'm',
        customProperties: { zeta: [1, 'two', null, true], alpha: { b: 1e21, a: 1e-7 } },
      }),
    ).toBe('{"customProperties":{"alpha":{"a":1e-7,"b":1e+21},"zeta":[1,"two",null,true]},"message":"m"}');
    expect(encodeKfpJson('IOParameter', { value: { list: [{ y: 2, x: 1 }] } })).toBe('{"value":{"list":[{"x":1,"y":2}]}}');
  });

  it('reject what a Value cannot hold', () => {
    expectKfpError(() => encodeKfpJson('IOParameter', { value: Number.NaN }), /IOParameter\.value: NaN/);
    expectKfpError(() => encodeKfpJson('IOParameter', { value: [1, undefined] }), /undefined/);
    expectKfpError(() => encodeKfpJson('IOParameter', { value: 1n }), /bigint/);
    expectKfpError(() => encodeKfpJson('IOParameter', { value: new Map() }), /google\.protobuf\.Value/);
  });
});

describe('Timestamps', () => {
  const at = (updateTime: unknown) => decodeKfpJson('TaskStatus', encodeKfpJson('TaskStatus', { updateTime }))['updateTime'];

  it('use 0, 3, 6 or 9 fractional digits, as protojson does', () => {
    expect(at({ seconds: 1777636800, nanos: 0 })).toBe('2026-05-01T12:00:00Z');
    expect(at({ seconds: 1777636800, nanos: 500_000_000 })).toBe('2026-05-01T12:00:00.500Z');
    expect(at({ seconds: 1777636800, nanos: 120_000 })).toBe('2026-05-01T12:00:00.000120Z');
    expect(at({ seconds: 1777636800, nanos: 1 })).toBe('2026-05-01T12:00:00.000000001Z');
    expect(at('2026-05-01T12:00:00.1234Z')).toBe('2026-05-01T12:00:00.123400Z');
  });

  it('normalise offsets to UTC and accept Dates and epoch milliseconds', () => {
    expect(at('2026-05-01T14:30:00+02:30')).toBe('2026-05-01T12:00:00Z');
    expect(at('2026-04-30T23:00:00-13:00')).toBe('2026-05-01T12:00:00Z');
    expect(at(Date.UTC(2026, 4, 1, 12, 0, 0, 7))).toBe('2026-05-01T12:00:00.007Z');
    expect(at(new Date('2026-05-01T12:00:00Z'))).toBe('2026-05-01T12:00:00Z');
    expect(at(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(at({ seconds: '-62135596800' })).toBe('0001-01-01T00:00:00Z');
    expect(at('9999-12-31T23:59:59.999999999Z')).toBe('9999-12-31T23:59:59.999999999Z');
  });

  it('reject invalid dates and the range protojson refuses', () => {
    expectKfpError(() => at('2026-02-30T00:00:00Z'), /not a valid date/);
    expectKfpError(() => at('2026-05-01 12:00:00Z'), /not an RFC 3339/);
    expectKfpError(() => at('2026-05-01T12:00:00'), /not an RFC 3339/);
    expectKfpError(() => at({ seconds: -62135596801n }), /outside/);
    expectKfpError(() => at({ seconds: 0, nanos: 1_000_000_000 }), /nanos.*out of range/);
    expectKfpError(() => at(1.5), /safe integer/);
  });

  it('are read only from strings when decoding', () => {
    expectKfpError(() => decodeKfpJson('TaskStatus', '{"updateTime":1777636800000}'), /RFC 3339/);
  });
});

describe('google.rpc.Status in TaskStatus.error', () => {
  it('writes code as a number and passes Any details through', () => {
    const text = encodeKfpJson('TaskStatus', {
      state: 'FAILED',
      error: { code: 13, message: 'boom', details: [{ '@type': 'type.googleapis.com/x.Y', b: 1, a: 'z' }] },
    });
    expect(text).toBe('{"error":{"code":13,"details":[{"@type":"type.googleapis.com/x.Y","a":"z","b":1}],"message":"boom"},"state":"FAILED"}');
    expect(encodeKfpJson('TaskStatus', decodeKfpJson('TaskStatus', text))).toBe(text);
    expectKfpError(() => encodeKfpJson('TaskStatus', { error: { details: [{ a: 1 }] } }), /@type/);
  });
});

describe('lists and nulls', () => {
  it('encode an empty list as []', () => {
    expect(encodeKfpJsonList('TaskPod', [])).toBe('[]');
  });

  it('decode SQL NULL, JSON null and [] as no messages', () => {
    expect(decodeKfpJsonList('TaskStatus', null)).toEqual([]);
    expect(decodeKfpJsonList('TaskStatus', 'null')).toEqual([]);
    expect(decodeKfpJsonList('TaskStatus', '[]')).toEqual([]);
    expectKfpError(() => decodeKfpJsonList('TaskStatus', '{}'), /expected a JSON array/);
    expectKfpError(() => decodeKfpJsonList('TaskStatus', '[null]'), /TaskStatus\[0\]: expected an object/);
    expectKfpError(() => decodeKfpJsonList('TaskStatus', '[{'), /not valid JSON/);
  });

  it('keep the TypeAttrs null literal distinct from the root task {}', () => {
    expect(encodeKfpJsonOrNull('TypeAttributes', null)).toBe('null');
    expect(encodeKfpJsonOrNull('TypeAttributes', {})).toBe('{}');
    expect(decodeKfpJsonOrNull('TypeAttributes', 'null')).toBeNull();
    expect(decodeKfpJsonOrNull('TypeAttributes', null)).toBeNull();
    expect(decodeKfpJsonOrNull('TypeAttributes', '{}')).toEqual({});
    expectKfpError(() => decodeKfpJson('TypeAttributes', 'null'), /JSON null/);
  });
});

describe('goJsonStringify', () => {
  it('escapes as Go encoding/json does', () => {
    expect(goJsonStringify('<a href="x">&</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    expect(goJsonStringify('\u2028\u2029')).toBe('"\\u2028\\u2029"');
    expect(goJsonStringify('\b\f\n\r\t\u0000\u0001\u001f')).toBe('"\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f"');
    expect(goJsonStringify('back\\slash \u007f é 😀')).toBe('"back\\\\slash \u007f é 😀"');
    expect(goJsonStringify({ '<k>': 1 })).toBe('{"\\u003ck\\u003e":1}');
  });

  it('writes lone surrogates as an escaped U+FFFD, as Go does for invalid UTF-8', () => {
    expect(goJsonStringify('a\ud800b')).toBe('"a\\ufffdb"');
    expect(goJsonStringify('\udc00')).toBe('"\\ufffd"');
    expectKfpError(() => encodeKfpJson('TaskPod', { name: 'a\ud800' }), /lone UTF-16 surrogate/);
  });

  it('formats float64 as Go does', () => {
    const cases: [number, string][] = [
      [1e-7, '1e-7'],
      [1.5e-7, '1.5e-7'],
      [1e-10, '1e-10'],
      [0.000001, '0.000001'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [1.2345e25, '1.2345e+25'],
      [0.1, '0.1'],
      [-0, '-0'],
      [0, '0'],
      [100, '100'],
      [-2.5, '-2.5'],
      [123456789.125, '123456789.125'],
      [5e-324, '5e-324'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
    ];
    for (const [n, text] of cases) expect(goJsonStringify(n)).toBe(text);
  });

  it('sorts keys by UTF-8 bytes at every depth', () => {
    // UTF-16 order would put the astral U+1F600 before U+E000 and U+FFFD; UTF-8 order puts it last.
    expect(goJsonStringify({ '\u{1F600}': 1, '\uFFFD': 2, '\uE000': 3, b: { z: 1, a: [{ y: 1, x: 2 }] }, B: 0, aa: 1, a: 2 })).toBe(
      '{"B":0,"a":2,"aa":1,"b":{"a":[{"x":2,"y":1}],"z":1},"\uE000":3,"\uFFFD":2,"\u{1F600}":1}',
    );
  });

  it('treats a "__proto__" key as data', () => {
    const value = JSON.parse('{"__proto__":{"b":1},"a":0}') as Record<string, unknown>;
    expect(goJsonStringify(value)).toBe('{"__proto__":{"b":1},"a":0}');
    const text = encodeKfpJson('StatusMetadata', { customProperties: value });
    expect(text).toBe('{"customProperties":{"__proto__":{"b":1},"a":0}}');
    expect(encodeKfpJson('StatusMetadata', decodeKfpJson('StatusMetadata', text))).toBe(text);
  });

  it('writes bigints as integers and is compact', () => {
    expect(goJsonStringify([9007199254740993n, true, null, 'x'])).toBe('[9007199254740993,true,null,"x"]');
  });

  it('refuses what Go could not have marshalled', () => {
    expectKfpError(() => goJsonStringify(undefined), /undefined/);
    expectKfpError(() => goJsonStringify({ a: Number.POSITIVE_INFINITY }), /\$\.a: Infinity/);
    expectKfpError(() => goJsonStringify(new Date(0)), /object has no Go JSON form/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expectKfpError(() => goJsonStringify(cyclic), /cyclic/);
  });

  it('round-trips any JSON value through JSON.parse, with keys in UTF-8 byte order', () => {
    // Prefixing keys keeps them from being array indexes, which JSON.parse would reorder.
    const prefixKeys = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(prefixKeys);
      if (v === null || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [`k${k}`, prefixKeys(x)]));
    };
    const keysSorted = (v: unknown): boolean => {
      if (Array.isArray(v)) return v.every(keysSorted);
      if (v === null || typeof v !== 'object') return true;
      const keys = Object.keys(v).map((k) => Buffer.from(k, 'utf8'));
      return keys.every((k, i) => i === 0 || Buffer.compare(keys[i - 1]!, k) < 0) && Object.values(v).every(keysSorted);
    };
    fc.assert(
      fc.property(fc.jsonValue().map(prefixKeys), (v) => {
        const text = goJsonStringify(v);
        expect(JSON.parse(text)).toEqual(v);
        expect(keysSorted(JSON.parse(text))).toBe(true);
        expect(text).not.toMatch(/[<>&\u2028\u2029]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('encoding is idempotent over decoding', () => {
  it('holds for arbitrary IOParameter values', () => {
    const ioType = fc.constantFrom('UNSPECIFIED', 'COMPONENT_INPUT', 'TASK_OUTPUT_INPUT', 'OUTPUT', 'ITERATOR_OUTPUT', 2, 9);
    const producer = fc.record({ taskName: fc.string(), iteration: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }, { requiredKeys: ['taskName'] });
    const param = fc.record(
      { value: fc.jsonValue(), type: ioType, parameterKey: fc.string(), producer },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(param, (p) => {
        const text = encodeKfpJson('IOParameter', p);
        expect(encodeKfpJson('IOParameter', decodeKfpJson('IOParameter', text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('proto/kfp/v2beta1.proto', () => {
  // Field numbers from kfp-facts.md §C.7, checked against mlmd-removal's run.proto and artifact.proto.
  it('declares the column messages with upstream names, numbers and nesting', () => {
    const root = protobuf.loadSync(fileURLToPath(new URL('../proto/kfp/v2beta1.proto', import.meta.url)));
    root.resolveAll();
    const pkg = 'kubeflow.pipelines.backend.api.v2beta1';
    const expected: Record<string, Record<string, [number, string, boolean]>> = {
      'PipelineTask.TaskPod': { name: [1, 'string', false], uid: [2, 'string', false], type: [3, 'TaskPodType', false] },
      'PipelineTask.StatusMetadata': { message: [1, 'string', false], custom_properties: [2, 'google.protobuf.Value', false] },
      'PipelineTask.TaskStatus': {
        update_time: [1, 'google.protobuf.Timestamp', false],
        state: [2, 'TaskState', false],
        error: [3, 'google.rpc.Status', false],
      },
      'PipelineTask.TypeAttributes': {
        iteration_index: [1, 'int64', true],
        iteration_count: [2, 'int64', true],
        download_to_workspace: [3, 'bool', true],
      },
      'PipelineTask.InputOutputs.IOParameter': {
        value: [1, 'google.protobuf.Value', false],
        type: [2, 'IOType', false],
        parameter_key: [3, 'string', false],
        producer: [4, 'IOProducer', true],
      },
      IOProducer: { task_name: [1, 'string', false], iteration: [2, 'int64', true] },
    };
    for (const [path, fields] of Object.entries(expected)) {
      const type = root.lookupType(`${pkg}.${path}`);
      const actual = Object.fromEntries(
        type.fieldsArray.map((f) => [f.protoName, [f.id, f.type, Boolean(f.options?.['proto3_optional'])]]),
      );
      expect(actual, path).toEqual(fields);
    }
    expect(root.lookupType(`${pkg}.PipelineTask.StatusMetadata`).fields['customProperties']!.map).toBe(true);
    const status = root.lookupType('google.rpc.Status');
    expect(status.fieldsArray.map((f) => [f.protoName, f.id, f.type, f.repeated])).toEqual([
      ['code', 1, 'int32', false],
      ['message', 2, 'string', false],
      ['details', 3, 'google.protobuf.Any', true],
    ]);
  });
});
