/**
 * Loads a run's saved model the way a user without this project would: stock
 * @tensorflow/tfjs, tf.loadLayersModel over HTTP (tfjs in Node has no file:// handler
 * without tfjs-node; a 127.0.0.1 static server is the plain path), then measures accuracy
 * on an image folder (<dir>/<class>/*.png|jpg, classes in the given order), pixels / 255.
 * Nothing here imports pipeline code.
 *
 *   node dist/test/pipeline/plain-tfjs-eval.js RUN_DIR TEST_DIR CLASS,CLASS,...
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** Serves `dir` read-only on 127.0.0.1; resolves with the base URL and a close function. */
export async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(
      dir,
      path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^([/\\])+/, ''),
    );
    if (!file.startsWith(dir) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function decode(file: string): { data: Uint8Array; width: number; height: number } {
  const buf = fs.readFileSync(file);
  if (file.endsWith('.png')) return PNG.sync.read(buf);
  return jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
}

export async function plainAccuracy(
  runDir: string,
  testDir: string,
  classes: string[],
): Promise<{ accuracy: number; examples: number }> {
  const server = await serveDir(path.join(runDir, 'model'));
  try {
    const model = await tf.loadLayersModel(`${server.url}/model.json`);
    const [h, w, c] = model.inputs[0].shape.slice(1) as number[];
    let correct = 0;
    let examples = 0;
    for (const [label, name] of classes.entries()) {
      const files = fs.readdirSync(path.join(testDir, name)).sort();
      for (let start = 0; start < files.length; start += 500) {
        const chunk = files.slice(start, start + 500);
        const x = new Float32Array(chunk.length * h * w * c);
        chunk.forEach((f, i) => {
          const img = decode(path.join(testDir, name, f));
          for (let p = 0; p < h * w; p++)
            for (let k = 0; k < c; k++) x[(i * h * w + p) * c + k] = img.data[p * 4 + k] / 255;
        });
        const predicted = tf.tidy(() =>
          (model.predict(tf.tensor4d(x, [chunk.length, h, w, c])) as tf.Tensor).argMax(-1).dataSync(),
        );
        correct += predicted.filter((p) => p === label).length;
        examples += chunk.length;
      }
    }
    model.dispose();
    return { accuracy: correct / examples, examples };
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  const [runDir, testDir, classes] = process.argv.slice(2);
  void (async () => {
    await tf.setBackend(process.env.TFJS_BACKEND ?? 'cpu');
    const r = await plainAccuracy(path.resolve(runDir), path.resolve(testDir), classes.split(','));
    process.stdout.write(JSON.stringify({ backend: tf.getBackend(), ...r }) + '\n');
  })();
}
