/**
 * The tfjs packages whose internals the engine relies on, at the versions it was written and
 * tested against: tfjs-backend-wasm's heap layout and kernel registry, tfjs-core's optimizer
 * fields and engine. Any other installed version turns the fast path off (start.ts): a
 * private field that moved would otherwise corrupt training silently.
 *
 * package.json pins the same versions (a test keeps the two equal).
 */
import type { TF } from './types';

export const BUILT_FOR: Readonly<Record<string, string>> = {
  '@tensorflow/tfjs-core': '4.22.0',
  '@tensorflow/tfjs-layers': '4.22.0',
  '@tensorflow/tfjs-backend-wasm': '4.22.0',
};

/**
 * `PIPELINE_ENGINE_VERSIONS` replaces what the check sees as installed, e.g.
 * `@tensorflow/tfjs-backend-wasm=4.23.0` (comma-separated): a way to rehearse the fallback
 * (the tests do) without installing another tfjs.
 */
export const VERSIONS_ENV = 'PIPELINE_ENGINE_VERSIONS';

/** The installed versions of the BUILT_FOR packages (undefined: not found). */
export function installedVersions(tf: TF, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const installed: Record<string, string | undefined> = {
    '@tensorflow/tfjs-core': tf.version['tfjs-core'],
    '@tensorflow/tfjs-layers': tf.version['tfjs-layers'],
    '@tensorflow/tfjs-backend-wasm': wasmVersion(),
  };
  for (const entry of (env[VERSIONS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    if (at > 0) installed[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return installed;
}

function wasmVersion(): string | undefined {
  try {
    return (require('@tensorflow/tfjs-backend-wasm') as { version_wasm?: string }).version_wasm;
  } catch {
    // Not installed or not loadable: an unknown version, which versionMismatch reports as a difference.
    return undefined;
  }
}

/** null when every package is at its BUILT_FOR version, else one sentence naming each difference. */
export function versionMismatch(installed: Record<string, string | undefined>): string | null {
  const wrong = Object.entries(BUILT_FOR)
    .filter(([name, want]) => installed[name] !== want)
    .map(([name, want]) => `${name} ${installed[name] ?? 'not found'} (built for ${want})`);
  return wrong.length === 0 ? null : `installed ${wrong.join(', ')}`;
}
