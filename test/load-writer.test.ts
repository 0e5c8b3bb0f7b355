/** The writer's test of whether a stored row already holds what it would write. */
import { describe, expect, it } from 'vitest';
import { jsonColumns } from '../src/load/schema.ts';
import { sameStoredValue } from '../src/load/writer.ts';

describe('sameStoredValue', () => {
  it('takes JSON as MySQL 8 prints it back (sorted keys, spaces) for the value it is', () => {
    const written = '{"schemaTitle":"system.Model","b":[1.5,"x",{"z":null,"y":true}],"n":1}';
    const mysql8 = '{"b": [1.5, "x", {"y": true, "z": null}], "n": 1, "schemaTitle": "system.Model"}';
    expect(sameStoredValue(mysql8, written, true)).toBe(true);
    // Only in a JSON column: in a text column the spelling is the value.
    expect(sameStoredValue(mysql8, written, false)).toBe(false);
  });

  it('still tells a changed JSON value apart', () => {
    expect(sameStoredValue('{"a": 1}', '{"a":2}', true)).toBe(false);
    expect(sameStoredValue('{"a": 1}', '{"a":1,"b":null}', true)).toBe(false);
    expect(sameStoredValue('[1, 2]', '[2,1]', true)).toBe(false);
    expect(sameStoredValue('not json', '{}', true)).toBe(false);
  });

  it('takes numbers handed back as strings, and NULL only for NULL', () => {
    expect(sameStoredValue('5', 5, false)).toBe(true);
    expect(sameStoredValue(null, undefined, false)).toBe(true);
    expect(sameStoredValue(null, '', false)).toBe(false);
    expect(sameStoredValue(null, '{}', true)).toBe(false);
  });

  it('knows which artifact columns are JSON', () => {
    expect([...jsonColumns('artifacts')]).toEqual(['Metadata']);
    expect(jsonColumns('tasks').has('InputParameters')).toBe(true);
    expect(jsonColumns('tasks').has('Name')).toBe(false);
  });
});
