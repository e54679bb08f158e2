// A model bundle used with stock @tensorflow/tfjs and nothing of pipeline's: the snippet the
// README shows (between the markers, verbatim; the tests check the README holds it), then a
// small driver that feeds it PNG files decoded with pngjs and prints one JSON line per file.
//
//   node test/predict/stock-tfjs-bundle.cjs BUNDLE_DIR FILE.png...

// snippet:start
const fs = require('node:fs');
const tf = require('@tensorflow/tfjs');

/** Loads a bundle written by `pipeline export`; returns predict(pixels) -> [{class, probability}], best first. */
async function loadBundle(dir) {
  const meta = JSON.parse(fs.readFileSync(`${dir}/pipeline.json`, 'utf8'));
  const modelJson = JSON.parse(fs.readFileSync(`${dir}/${meta.model}`, 'utf8'));
  const weights = fs.readFileSync(`${dir}/${modelJson.weightsManifest[0].paths[0]}`);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs: modelJson.weightsManifest[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }));
  const [height, width, channels] = meta.inputShape;
  const { mean, std } = meta.preprocessing.normalize;
  // pixels: height * width * channels bytes, row by row (R, G, B for 3 channels), at the input size
  return (pixels) => tf.tidy(() => {
    const x = new Float32Array(height * width * channels);
    for (let i = 0; i < x.length; i++) x[i] = (pixels[i] / 255 - mean[i % channels]) / std[i % channels];
    let out = model.predict(tf.tensor4d(x, [1, height, width, channels]));
    if (meta.output === 'logits') out = tf.softmax(out);
    return Array.from(out.dataSync(), (probability, i) => ({ class: meta.classes[i], probability }))
      .sort((a, b) => b.probability - a.probability);
  });
}
// snippet:end

const { PNG } = require('pngjs');

async function main() {
  const [dir, ...files] = process.argv.slice(2);
  const predict = await loadBundle(dir);
  for (const file of files) {
    const png = PNG.sync.read(fs.readFileSync(file)); // RGBA
    const rgb = png.data.filter((_, i) => i % 4 !== 3);
    process.stdout.write(JSON.stringify({ input: file, predictions: predict(rgb) }) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
