import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { functionSpans } from './function-length';
import { parseProject } from './typescript-sources';

/** Functions do one job: none in src/ is longer than this many lines, signature to closing brace. */
const MAX_LINES = 80;

const REPO = path.resolve(__dirname, '../../..');

describe('function length', () => {
  it('measures every kind of function from its first line to its closing brace', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-lengths-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      '/** a doc comment is not counted */',
      `export function declared(): void {\n${body(3)}\n}`, // 5 lines, from line 2
      `export const arrow = (): void => {\n${body(1)}\n};`, // 3 lines, from line 7
      `export const expression = function (): void {\n${body(2)}\n};`,
      `export class C {\n  constructor() {\n${body(1)}\n  }\n  method(): number {\n    return 1;\n  }\n  get value(): number {\n    return 2;\n  }\n}`,
      'export const table = { entry: (x: number) => x + 1 };',
      'export declare function bodiless(): void;',
      '',
    ].join('\n');
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src/f.ts'), text);
    fs.writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({ include: ['src'] }));
    const { ast, files } = await parseProject(root);
    assert.deepEqual(
      functionSpans(ast, files).map((f) => `${f.file}:${f.line} ${f.name} ${f.lines}`),
      [
        'src/f.ts:2 declared 5',
        'src/f.ts:7 arrow 3',
        'src/f.ts:10 expression 4',
        'src/f.ts:15 constructor 3',
        'src/f.ts:18 method 3',
        'src/f.ts:21 value 3',
        'src/f.ts:25 entry 1',
      ],
    );
  });

  it(`no function in src/ is longer than ${MAX_LINES} lines`, async () => {
    const { ast, files } = await parseProject(REPO);
    assert.ok(files.length > 100, `only ${files.length} files parsed`);
    const long = functionSpans(ast, files).filter((f) => f.lines > MAX_LINES);
    const messages = long.map(
      (f) => `${f.file}:${f.line}: ${f.name} is ${f.lines} lines (at most ${MAX_LINES}): split it by job`,
    );
    assert.deepEqual(messages, [], `\n${messages.join('\n')}`);
  });
});
