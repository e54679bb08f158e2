import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveCacheDir, resolveDataHome } from '../../src/data/paths';

describe('resolveDataHome', () => {
  const cases: Array<{
    name: string;
    path?: string;
    dataDir?: string;
    env: Record<string, string>;
    home: string;
    source: string;
  }> = [
    {
      name: 'dataset.path is the home itself',
      path: '/d/own',
      dataDir: '/cli',
      env: { PIPELINE_DATA_DIR: '/env' },
      home: '/d/own',
      source: 'dataset.path',
    },
    {
      name: '--data-dir before the environment',
      dataDir: '/cli',
      env: { PIPELINE_DATA_DIR: '/env' },
      home: '/cli/cifar10',
      source: '--data-dir',
    },
    {
      name: 'PIPELINE_DATA_DIR',
      env: { PIPELINE_DATA_DIR: '/env', XDG_CACHE_HOME: '/xdg' },
      home: '/env/cifar10',
      source: 'PIPELINE_DATA_DIR',
    },
    {
      name: '$XDG_CACHE_HOME/pipeline/datasets',
      env: { XDG_CACHE_HOME: '/xdg' },
      home: '/xdg/pipeline/datasets/cifar10',
      source: 'default',
    },
    {
      name: '~/.cache/pipeline/datasets',
      env: {},
      home: path.join(os.homedir(), '.cache/pipeline/datasets/cifar10'),
      source: 'default',
    },
    {
      name: 'empty variables count as unset',
      env: { PIPELINE_DATA_DIR: '', XDG_CACHE_HOME: '' },
      home: path.join(os.homedir(), '.cache/pipeline/datasets/cifar10'),
      source: 'default',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(resolveDataHome({ name: 'cifar10', path: c.path }, { dataDir: c.dataDir }, c.env), {
        home: c.home,
        source: c.source,
      });
    });
  }
  it('resolves a relative dataset.path against the working directory', () => {
    assert.equal(resolveDataHome({ name: 'imageFolder', path: 'pics' }, {}, {}).home, path.resolve('pics'));
  });
});

describe('resolveCacheDir', () => {
  it('context, then PIPELINE_CACHE_DIR, then $XDG_CACHE_HOME/pipeline, then ~/.cache/pipeline', () => {
    assert.equal(resolveCacheDir({ cacheDir: '/c' }, { PIPELINE_CACHE_DIR: '/e' }), '/c');
    assert.equal(resolveCacheDir({}, { PIPELINE_CACHE_DIR: '/e', XDG_CACHE_HOME: '/x' }), '/e');
    assert.equal(resolveCacheDir({}, { XDG_CACHE_HOME: '/x' }), '/x/pipeline');
    assert.equal(resolveCacheDir({}, {}), path.join(os.homedir(), '.cache/pipeline'));
  });
});
