/**
 * The cache key encoding and hash against the upstream golden vectors (kfp-facts.md §B.4), and the
 * corners of Go's encoding/json a real key can hit.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KfpJsonError } from '../src/proto/kfp-json.ts';
import { type CacheKey, cacheKeyFingerprint, cacheKeyJson, customCacheKeyFingerprint } from '../src/transform/cache-key.ts';

const MODEL_SCHEMA = 'title: kfp.Model\ntype: object\nproperties:\n  framework:\n    type: string\n  framework_version:\n    type: string\n';

/** The key of `TestGenerateFingerPrint` (backend/src/v2/cacheutils/cache_test.go), with the image the test used in each release. */
function upstreamKey(image: string): CacheKey {
  return {
    inputArtifactNames: { dataset_one: ['1'], dataset_two: ['2'] },
    inputParameterValues: { message: 'Some string value', num_steps: 5 },
    outputArtifactsSpec: {
      model: { name: 'model', type: { instanceSchema: MODEL_SCHEMA }, metadata: { name: 'model' } },
      metrics: { name: 'metrics', type: { schemaTitle: 'kfp.Metrics' }, metadata: { name: 'metrics' } },
    },
    outputParametersSpec: { output_parameter_one: 'STRING', output_parameter_two: 'INT' },
    containerSpec: { image, cmdArgs: ['sh', 'ec', 'test'], pvcNames: [] },
  };
}

/** The test's "Generated Different FingerPrint" case: no parameters, no outputs artifacts. */
function upstreamOtherKey(image: string): CacheKey {
  return {
    inputArtifactNames: { dataset: ['10'] },
    inputParameterValues: {},
    outputArtifactsSpec: {},
    outputParametersSpec: { output_parameter: 'DOUBLE' },
    containerSpec: { image, cmdArgs: ['sh', 'ec', 'run'], pvcNames: [] },
  };
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('default cache key: upstream golden vectors', () => {
  // KFP 2.x master and PR #13986's head (KFP 3) share GenerateFingerPrint and these expected digests.
  it('TestGenerateFingerPrint on master and KFP 3 (image python:3.11)', () => {
    expect(cacheKeyFingerprint(upstreamKey('python:3.11'))).toBe('b498530c9016917298999ec0b01f364a180f8a3862bea0fa672a383ca3f22e4e');
    expect(cacheKeyFingerprint(upstreamOtherKey('python:3.11'))).toBe('3d9a2a778fa3174c6cfc6e639c507c265b5f21ef6e5b1dd70b236462cc6da464');
  });

  it('TestGenerateFingerPrint as of the 2.0.0 tag (image python:3.9)', () => {
    expect(cacheKeyFingerprint(upstreamKey('python:3.9'))).toBe('4e8a5d7d70997b0a35429fcd481af8fcd5b9f58ef4391bdb6ad900fd1c63622b');
    expect(cacheKeyFingerprint(upstreamOtherKey('python:3.9'))).toBe('0a4cc1f15cdfad5170e1358518f7128c5278500a670db1b9a3f3d83b93db396e');
  });

  it('hashes exactly the Go-normalised protojson: empty fields left out, keys sorted, compact', () => {
    expect(cacheKeyJson(upstreamOtherKey('python:3.11'))).toBe(
      '{"containerSpec":{"cmdArgs":["sh","ec","run"],"image":"python:3.11"},"inputArtifactNames":{"dataset":{"artifactNames":["10"]}},' +
        '"outputParametersSpec":{"output_parameter":"DOUBLE"}}',
    );
    // An empty container spec is still a set message; a key with no artifacts is an empty list message.
    const bare: CacheKey = { inputArtifactNames: { none: [] }, inputParameterValues: {}, outputArtifactsSpec: { o: {} }, outputParametersSpec: {}, containerSpec: { image: '', cmdArgs: [], pvcNames: [] } };
    expect(cacheKeyJson(bare)).toBe('{"containerSpec":{},"inputArtifactNames":{"none":{}},"outputArtifactsSpec":{"o":{}}}');
    // A metadata Struct that is set but empty is written; one that is absent is not.
    const withEmptyMetadata = { ...bare, outputArtifactsSpec: { o: { type: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' }, metadata: {} } } };
    expect(cacheKeyJson(withEmptyMetadata)).toContain('"outputArtifactsSpec":{"o":{"metadata":{},"type":{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"}}}');
  });

  it('PVC names are part of the container spec', () => {
    const key = upstreamKey('python:3.11');
    const withPvcs = { ...key, containerSpec: { ...key.containerSpec, pvcNames: ['data-pvc', 'workspace-pvc'] } };
    expect(cacheKeyJson(withPvcs)).toContain('"containerSpec":{"cmdArgs":["sh","ec","test"],"image":"python:3.11","pvcNames":["data-pvc","workspace-pvc"]}');
    expect(cacheKeyFingerprint(withPvcs)).not.toBe(cacheKeyFingerprint(key));
  });
});

describe('custom cache key: upstream golden vectors', () => {
  it('KFP 2.x master driver/cache_test.go Test_getFingerPrint and Test_getFingerPrintsAndID', () => {
    expect(customCacheKeyFingerprint('my-component', 'my-custom-cache-key')).toBe('ad05e747b67b95e4fc4ce080cdb5850f89744360a85753b90a1a434d46dedd2e');
    expect(customCacheKeyFingerprint('other-component', 'my-custom-cache-key')).toBe('3b3a067cac2d9161742542c6afa8a1291699e27c637dd0d5d66cd8b2bdc5ab76');
    expect(customCacheKeyFingerprint('my-component', 'custom-key')).toBe('7a5348ebd8b216ba326ef72a8cfa070636c903428e429684b03e42dd1e772641');
  });

  it('KFP 3 TestGetFingerPrintUsesCustomCacheKey and the two tests after it: the same digests', () => {
    expect(customCacheKeyFingerprint('my-component', 'my-custom-cache-key')).toBe('ad05e747b67b95e4fc4ce080cdb5850f89744360a85753b90a1a434d46dedd2e');
    expect(customCacheKeyFingerprint('other-component', 'my-custom-cache-key')).toBe('3b3a067cac2d9161742542c6afa8a1291699e27c637dd0d5d66cd8b2bdc5ab76');
  });

  it('without a component reference name, no name and no NUL byte', () => {
    expect(customCacheKeyFingerprint('', 'k')).toBe(sha256('k'));
    expect(customCacheKeyFingerprint('c', 'k')).toBe(sha256('c\u0000k'));
  });
});

describe('Go encoding/json corners inside a key', () => {
  const keyWith = (values: CacheKey['inputParameterValues']): CacheKey => ({
    inputArtifactNames: {},
    inputParameterValues: values,
    outputArtifactsSpec: {},
    outputParametersSpec: {},
    containerSpec: { image: 'i', cmdArgs: [], pvcNames: [] },
  });
  const params = (values: CacheKey['inputParameterValues']) => {
    const json = cacheKeyJson(keyWith(values));
    return json.slice(json.indexOf('"inputParameterValues":') + '"inputParameterValues":'.length, -1);
  };

  it('object keys in UTF-8 byte order, not UTF-16 order: U+E000 and U+FFFD sort before U+1F600', () => {
    // UTF-16 puts the surrogate pair of U+1F600 (0xD83D…) before U+E000; UTF-8 (F0 9F …) after EF BF BD.
    expect(params({ '\u{1F600}': 1, '\uFFFD': 2, '\uE000': 3, z: 4 })).toBe('{"z":4,"\uE000":3,"\uFFFD":2,"\u{1F600}":1}');
  });

  it('<, >, & and U+2028/U+2029 escaped as Go does; other characters as they are', () => {
    expect(params({ '<a>': 'x & y', s: 'line\u2028para\u2029', e: 'é😀' })).toBe('{"\\u003ca\\u003e":"x \\u0026 y","e":"é😀","s":"line\\u2028para\\u2029"}');
  });

  it('float64 as Go writes it: exponent form below 1e-6 and from 1e21, negative zero kept', () => {
    expect(params({ a: 1e-7, b: 0.000001, c: 1e21, d: 1e20, e: -0, f: 5, g: 0.1, h: 1.5e-7, i: -1e300 })).toBe(
      '{"a":1e-7,"b":0.000001,"c":1e+21,"d":100000000000000000000,"e":-0,"f":5,"g":0.1,"h":1.5e-7,"i":-1e+300}',
    );
  });

  it('NaN and ±Infinity in a parameter value are refused, as protojson refuses them (the driver could not have hashed them)', () => {
    expect(() => cacheKeyJson(keyWith({ x: Number.NaN }))).toThrow(KfpJsonError);
    expect(() => cacheKeyJson(keyWith({ x: [Number.POSITIVE_INFINITY] }))).toThrow(KfpJsonError);
  });

  it('a lone UTF-16 surrogate (no UTF-8 form) is refused wherever it is, as protojson refuses invalid UTF-8', () => {
    expect(() => cacheKeyJson(keyWith({ x: 'a\ud800' }))).toThrow(/lone UTF-16 surrogate/);
    expect(() => cacheKeyJson(keyWith({ '\udc00': 1 }))).toThrow(/lone UTF-16 surrogate/);
    expect(() => cacheKeyJson({ ...keyWith({}), containerSpec: { image: '\ud800', cmdArgs: [], pvcNames: [] } })).toThrow(/lone UTF-16 surrogate/);
  });
});
