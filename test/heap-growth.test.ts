import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../src/cli/heap-growth.ts';
import { runCli } from './helpers/cli.ts';

const DEFAULT = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

describe('heapGrowthFlag', () => {
  it('bounds the heap growth when the operator chose nothing', () => {
    expect(heapGrowthFlag([], undefined)).toEqual({ flag: DEFAULT });
    expect(heapGrowthFlag(['--enable-source-maps', '--max-old-space-size=1024'], '')).toEqual({ flag: DEFAULT });
  });

  it("leaves the operator's own node flag alone, however it is spelled", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=300'], undefined).flag).toBeNull();
    expect(heapGrowthFlag(['--heap_growing_percent=50'], '200').flag).toBeNull();
    expect(heapGrowthFlag(['--heap-growing-percentage=5'], undefined).flag).toBe(DEFAULT);
  });

  it('takes the environment variable: a percentage, or 0 for V8 own factor', () => {
    expect(heapGrowthFlag([], '80')).toEqual({ flag: '--heap-growing-percent=80' });
    expect(heapGrowthFlag([], '0')).toEqual({ flag: null });
  });

  it('warns about an unusable value and keeps the default', () => {
    for (const bad of ['lots', '-5', '1.5', '5000']) {
      const r = heapGrowthFlag([], bad);
      expect(r.flag).toBe(DEFAULT);
      expect(r.warning).toContain(`MLMD_BRIDGE_HEAP_GROWING_PERCENT=${JSON.stringify(bad)}`);
    }
  });

  it('the CLI starts cleanly with the flag set (V8 names a flag it does not know on stderr)', async () => {
    for (const env of [{}, { MLMD_BRIDGE_HEAP_GROWING_PERCENT: '80' }]) {
      const r = await runCli(['--version'], env);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
    const bad = await runCli(['--version'], { MLMD_BRIDGE_HEAP_GROWING_PERCENT: 'lots' });
    expect(bad.code).toBe(0);
    expect(bad.stderr).toContain('ignoring MLMD_BRIDGE_HEAP_GROWING_PERCENT="lots"');
  });
});
