import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeCycle, folderCycles, folderGraph } from './import-graph';
import { parseProject } from './typescript-sources';

/**
 * Folders under src/ are layers: a folder may import from the folders below
 * it, never the other way round, so no chain of imports between folders leads
 * back to where it started.
 */

const REPO = path.resolve(__dirname, '../../..');

async function cyclesIn(root: string): Promise<string[]> {
  const { ast, files } = await parseProject(root);
  const graph = folderGraph(ast, files);
  return folderCycles(graph).map((c) => describeCycle(graph, c));
}

describe('folder import cycles', () => {
  it('finds a cycle through every import form, naming the folders and the imports', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-cycles-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'node16', strict: true }, include: ['src'] }),
      // import type / export from
      'src/a/x.ts': "import type { Y } from '../b/y';\nexport type X = Y | 1;\n",
      'src/b/y.ts': "export type { X } from '../a/x';\nexport type Y = 2;\n",
      // dynamic import() / an import('...') type
      'src/c/z.ts': "export const load = () => import('../d/w');\n",
      'src/d/w.ts': "export type Z = typeof import('../c/z');\n",
      // import = require() / require()
      'src/e/u.ts': "import v = require('../f/v');\nexport const u = v;\n",
      'src/f/v.ts': "export const v = () => require('../e/u');\n",
      // a file directly in src/, a package, an import inside the folder: no cycle
      'src/g/one.ts':
        "import * as fs from 'node:fs';\nimport { two } from './two';\nimport { top } from '../top';\nexport const one = [fs, two, top];\n",
      'src/g/two.ts': 'export const two = 2;\n',
      'src/top.ts': 'export const top = 0;\n',
    };
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    }
    assert.deepEqual(await cyclesIn(root), [
      'folder import cycle: a -> b -> a (src/a/x.ts imports ../b/y; src/b/y.ts imports ../a/x)',
      'folder import cycle: c -> d -> c (src/c/z.ts imports ../d/w; src/d/w.ts imports ../c/z)',
      'folder import cycle: e -> f -> e (src/e/u.ts imports ../f/v; src/f/v.ts imports ../e/u)',
    ]);
  });

  it('finds every elementary cycle once, from its first folder', () => {
    const edge = (file: string) => ({ file, specifier: '../x' });
    const graph = new Map([
      ['a', new Map([['b', edge('src/a/1.ts')]])],
      [
        'b',
        new Map([
          ['c', edge('src/b/1.ts')],
          ['a', edge('src/b/2.ts')],
        ]),
      ],
      ['c', new Map([['a', edge('src/c/1.ts')]])],
    ]);
    assert.deepEqual(folderCycles(graph), [
      ['a', 'b', 'a'],
      ['a', 'b', 'c', 'a'],
    ]);
  });

  it('src/ has no folder import cycle', async () => {
    const found = await cyclesIn(REPO);
    assert.deepEqual(found, [], `\n${found.join('\n')}`);
  });
});
