/**
 * Preloaded into CLI children by the fault-injection tests (`node --require`): writes the
 * process's peak resident memory (KB) to $PIPELINE_TEST_MAX_RSS_FILE at exit, so a test can
 * assert that a hostile input did not make memory grow.
 */
import * as fs from 'node:fs';

const file = process.env.PIPELINE_TEST_MAX_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      fs.writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // The test then reports NaN for the figure; the exit code is what it must not change.
    }
  });
}
