import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/errors';
import { checkTrialJob, TRIAL_KIND } from '../../../src/runs/sweep/queue/payload';
import { childEnv, parseQueueUrl, queueFrom, redactUrl } from '../../../src/runs/sweep/queue/url';

test('queue addresses: parsed for ioredis, shown without the password', () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['redis://127.0.0.1:6380', 'redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380, db: 0 }],
    [
      'redis://:s3cret@host.example:6379/2',
      'redis://:***@host.example:6379/2',
      { host: 'host.example', port: 6379, db: 2, password: 's3cret' },
    ],
    ['redis://alice:p%40ss@h', 'redis://alice:***@h', { host: 'h', port: 6379, username: 'alice', password: 'p@ss' }],
    [
      'rediss://:pw@h:6390',
      'rediss://:***@h:6390',
      { host: 'h', port: 6390, password: 'pw', tls: { servername: 'h' } },
    ],
  ];
  for (const [raw, shown, want] of cases) {
    const a = parseQueueUrl(raw);
    assert.equal(a.display, shown, raw);
    for (const [k, v] of Object.entries(want))
      assert.deepEqual((a.connection as Record<string, unknown>)[k], v, `${raw}: ${k}`);
    assert.equal(a.connection.maxRetriesPerRequest, null);
  }
});

test('bad addresses: a usage error that does not echo the password', () => {
  const cases: Array<[string, string]> = [
    ['http://:pw@h:1', '--queue: expected a redis:// or rediss:// address, got http://...'],
    [
      'redis//:pw@h',
      '--queue: "redis//:pw@h" is not a URL; expected redis://[user:password@]host:port[/db] or rediss://...',
    ],
    ['redis://:pw@h:1/x', '--queue: the database number must be a whole number, got "x"'],
    [
      'not a url :pw@',
      '--queue: "not a url :pw@" is not a URL; expected redis://[user:password@]host:port[/db] or rediss://...',
    ],
  ];
  for (const [raw, message] of cases)
    assert.throws(
      () => parseQueueUrl(raw),
      (e: unknown) => e instanceof UsageError && e.message === message,
      raw,
    );
  assert.equal(redactUrl('x redis://u:secret@h'), 'x redis://u:secret@h', 'only a whole address is rewritten');
  assert.equal(redactUrl('redis://u:secret@h'), 'redis://u:***@h');
});

test('the address comes from --queue, else $PIPELINE_QUEUE; children never inherit it', () => {
  assert.equal(queueFrom(undefined, {}), undefined);
  assert.equal(queueFrom(undefined, { PIPELINE_QUEUE: 'redis://:pw@h:1' })?.display, 'redis://:***@h:1');
  assert.equal(queueFrom('redis://h:2', { PIPELINE_QUEUE: 'redis://h:1' })?.display, 'redis://h:2');
  assert.throws(
    () => queueFrom(undefined, { PIPELINE_QUEUE: 'ftp://h' }),
    /^UsageError: \$PIPELINE_QUEUE: expected a redis/,
  );
  assert.deepEqual(childEnv({ PIPELINE_QUEUE: 'redis://:pw@h', PATH: '/bin' }), { PATH: '/bin' });
});

test('job payloads a worker refuses, with the reason', () => {
  const good = {
    kind: TRIAL_KIND,
    format: 1,
    sweep: 'tiny/sweeps/2',
    name: 'tiny',
    trial: 3,
    total: 4,
    params: {},
    overrides: ['a=1'],
    baseOverrides: [],
    experiment: { fileName: 'experiment.yaml', text: 'version: 1', sha256: 'x' },
    runArgs: ['--backend', 'wasm'],
    workersAuto: true,
    metric: 'testAccuracy',
    goal: 'max',
    earlyStopping: null,
    enqueuedAt: 1,
  };
  assert.equal(checkTrialJob(good), undefined);
  const cases: Array<[unknown, string]> = [
    [[1], 'the payload is not an object'],
    [{ kind: 'email' }, `the payload is not a pipeline sweep trial (kind "email", expected "${TRIAL_KIND}")`],
    [{ ...good, sweep: '../../etc' }, "the trial payload's sweep is not NAME/sweeps/N"],
    [{ ...good, name: '../x' }, "the trial payload's name is not an experiment name"],
    [{ ...good, trial: 5 }, "the trial payload's total is not the number of trials"],
    [
      { ...good, experiment: { ...good.experiment, fileName: '../../x.yaml' } },
      "the trial payload's experiment file name is not a plain .yaml name",
    ],
    [
      { ...good, runArgs: ['--runs-dir', '/'] },
      'the trial payload passes "--runs-dir" to pipeline run; a worker only passes --backend',
    ],
    [{ ...good, goal: 'up' }, "the trial payload's metric and goal is not a metric name and max or min"],
  ];
  for (const [payload, why] of cases) assert.equal(checkTrialJob(payload), why);
});
