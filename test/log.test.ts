// The structured logger (pino underneath): the fields log collectors index, and the text form for terminals.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/logger.ts';

describe('createLogger', () => {
  it('json: one object per line with time, level as a word, msg and the fields; errors keep their message', () => {
    const lines: string[] = [];
    const log = createLogger('json', (l) => lines.push(l));
    log.info({ rpc: 'GetArtifacts', transport: 'grpc', ms: 1.5, code: 'OK' }, 'rpc');
    log.error({ transport: 'grpc-web', error: new Error('socket hang up') }, 'grpc-web request failed');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    const first = JSON.parse(lines[0]!);
    expect(first).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: 'info', msg: 'rpc', rpc: 'GetArtifacts', transport: 'grpc', ms: 1.5, code: 'OK' });
    const second = JSON.parse(lines[1]!);
    expect(second.level).toBe('error');
    expect(second.error).toMatchObject({ type: 'Error', message: 'socket hang up' });
  });

  it('text: time LEVEL msg key=value, objects as JSON', () => {
    const lines: string[] = [];
    createLogger('text', (l) => lines.push(l)).warn({ database: 'KFP database', limits: { maxPageSize: 100 } }, 'database unreachable');
    expect(lines).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+Z WARN database unreachable database=KFP database limits=\{"maxPageSize":100\}\n$/)]);
  });
});
