/**
 * Stride-2 3x3 convolutions (stride-two-cases.ts) with the native loops off, so that the stride-2 Winograd path,
 * which runs only where they do not, is checked on every machine. The choice is made at the first kernel call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeRuns } from '../../src/engine/kernels/heap-loops';
import { strideTwoTests } from './stride-two-cases';

process.env.PIPELINE_NATIVE = 'off';

test('the native loops are off in this file', () => {
  assert.equal(nativeRuns(), false);
});

strideTwoTests();
