/**
 * `verify --report FILE`: a JUnit XML file with one test case per run, so CI systems show drifted
 * runs natively. Cases stream to a side file while verify runs (bounded memory); the file is
 * assembled and moved into place at the end, so a half-written report never exists.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import type { RunVerdict, VerifyReport } from './verifier.ts';

// XML 1.0 forbids most control characters even when escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'undefined');

export class JUnitReport {
  private readonly cases: WriteStream;
  private readonly casesPath: string;
  private tests = 0;
  private failures = 0;

  constructor(private readonly path: string) {
    this.casesPath = `${path}.cases-${process.pid}.tmp`;
    this.cases = createWriteStream(this.casesPath);
  }

  add(v: RunVerdict): void {
    if (v.status === 'orphan') return;
    this.tests++;
    const name = xmlEscape(v.runUuid);
    const cls = xmlEscape(`mlmd-bridge.verify.${v.pipeline ?? 'unknown-pipeline'}`);
    const head = `    <testcase classname="${cls}" name="${name}" time="${v.seconds.toFixed(3)}"`;
    if (v.status === 'matched') {
      this.cases.write(`${head}/>\n`);
      return;
    }
    this.failures++;
    const lines = v.drift.map((d) => `${d.entity} ${d.mlmdId} ${d.field}: expected ${show(d.expected)}, found ${show(d.found)} [${d.code}]`);
    const message = `${v.drift.length} difference(s) in run ${v.runUuid}; first: ${lines[0] ?? ''}`;
    this.cases.write(`${head}>\n      <failure message="${xmlEscape(message)}" type="drift">${xmlEscape(lines.join('\n'))}</failure>\n    </testcase>\n`);
  }

  async close(report: VerifyReport): Promise<void> {
    this.cases.end();
    await once(this.cases, 'finish');
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      const out = createWriteStream(tmp);
      out.write('<?xml version="1.0" encoding="UTF-8"?>\n');
      out.write(`<testsuites name="mlmd-bridge verify" tests="${this.tests}" failures="${this.failures}" time="${report.seconds.toFixed(3)}">\n`);
      out.write(`  <testsuite name="${xmlEscape(`verify ${report.source} -> ${report.target}`)}" tests="${this.tests}" failures="${this.failures}" errors="0" skipped="0" time="${report.seconds.toFixed(3)}">\n`);
      for await (const chunk of createReadStream(this.casesPath)) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.write('  </testsuite>\n</testsuites>\n');
      out.end();
      await once(out, 'finish');
      renameSync(tmp, this.path);
    } finally {
      rmSync(tmp, { force: true });
      rmSync(this.casesPath, { force: true });
    }
  }
}
