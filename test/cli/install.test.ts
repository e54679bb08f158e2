import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as semver from 'semver';

/**
 * Installing: every locked package supports the oldest Node the package.json
 * promises (vega-lite 6.5.0 wanted Node >= 22, so `npm ci` on Node 20 warned
 * EBADENGINE), and the cheap invocations do not load every command.
 */

const ROOT = path.resolve(__dirname, '../../..');
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

test('every package in package-lock.json supports the Node versions package.json promises (no EBADENGINE)', () => {
  const promised: string = readJson('package.json').engines.node;
  assert.ok(
    semver.satisfies(process.version, promised),
    `this Node (${process.version}) is one package.json promises (${promised})`,
  );
  const lock = readJson('package-lock.json') as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const unsupported = Object.entries(lock.packages)
    .filter(
      ([, p]) =>
        !Array.isArray(p.engines) && typeof p.engines?.node === 'string' && !semver.subset(promised, p.engines.node),
    )
    .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} needs node ${(p.engines as { node: string }).node}`);
  assert.deepEqual(unsupported, []);
});

test('pipeline --version answers without loading the commands (TensorFlow.js took a second or two)', () => {
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist/src/cli/main.js'))}).main(['node', 'pipeline', '--version']).then(() => {
    process.stderr.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('@tensorflow') || k.includes('/commands/'))));
  });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${readJson('package.json').version}\n`);
  assert.equal(r.stderr, '["' + path.join(ROOT, 'dist/src/cli/commands/index.js') + '"]');
});
