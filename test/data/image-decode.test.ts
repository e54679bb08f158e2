import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, resizeBilinear, writeChannels } from '../../src/data/image-decode';
import { decodeJpegRgb } from '../../src/data/jpeg-turbo';
import { greyJpeg8x8, jpg, png } from './fixtures';

describe('decodeJpegRgb (libjpeg-turbo)', () => {
  const good = jpg(16, 8, (x, y) => [x * 15, y * 30, 128]);

  it('decodes RGB close to the encoded pixels (quality 100)', () => {
    const img = decodeJpegRgb(good);
    assert.equal(img.width, 16);
    assert.equal(img.height, 8);
    assert.equal(img.data.length, 16 * 8 * 3);
    const at = (x: number, y: number) => [...img.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    for (const [x, y] of [
      [0, 0],
      [7, 3],
      [15, 7],
    ]) {
      const expected = [x * 15, y * 30, 128];
      at(x, y).forEach((v, c) => assert.ok(Math.abs(v - expected[c]) <= 6, `(${x},${y})[${c}] ${v} vs ${expected[c]}`));
    }
  });

  it('expands a grey JPEG to RGB', () => {
    const img = decodeJpegRgb(greyJpeg8x8(80));
    assert.deepEqual([...new Set(img.data)], [138]);
  });

  const bad: Array<[string, Buffer, string]> = [
    ['a truncated file', good.subarray(0, good.length - 40), 'cannot decode JPEG: corrupt or truncated image data'],
    ['a file cut inside its header', good.subarray(0, 200), 'cannot decode JPEG: corrupt or truncated header'],
    [
      'garbage after the SOI marker',
      Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]),
      'cannot decode JPEG: corrupt or truncated header',
    ],
  ];
  for (const [name, data, message] of bad) {
    it(`rejects ${name}, and decodes the next file correctly`, () => {
      assert.throws(() => decodeJpegRgb(data), { message });
      assert.deepEqual(decodeJpegRgb(good).data, decodeJpegRgb(good).data);
      assert.equal(decodeJpegRgb(good).width, 16);
    });
  }

  it('grows its input buffer for files over 64 KB', () => {
    let seed = 1;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) >> 16) % 256;
    const big = jpg(256, 256, () => [noise(), noise(), noise()]);
    assert.ok(big.length > 65536, `${big.length} bytes`);
    const img = decodeJpegRgb(big);
    assert.equal(img.width * img.height, 65536);
    assert.equal(decodeJpegRgb(good).width, 16);
  });
});

describe('decodeImage', () => {
  it('tells formats by their bytes, not their names', () => {
    assert.equal(decodeImage(png(3, 2, () => [1, 2, 3])).channels, 4);
    assert.equal(decodeImage(jpg(3, 2, () => [1, 2, 3])).channels, 3);
    assert.throws(() => decodeImage(Buffer.from('BM......')), { message: 'not a JPEG or PNG file' });
  });
});

describe('resizeBilinear and writeChannels', () => {
  it('keeps a constant image constant and interpolates a ramp', () => {
    const flat = { width: 5, height: 3, channels: 1, data: new Uint8Array(15).fill(77) };
    assert.deepEqual([...new Set(resizeBilinear(flat, 7, 2).data)], [77]);
    const ramp = { width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 200]) };
    assert.deepEqual([...resizeBilinear(ramp, 1, 4).data], [0, 50, 150, 200]);
  });

  it('converts channels: RGBA -> RGB drops alpha, RGB -> grey by luma, grey -> RGB repeats', () => {
    const rgba = { width: 1, height: 1, channels: 4, data: Uint8Array.from([10, 20, 30, 40]) };
    const out = new Uint8Array(4);
    writeChannels(rgba, 3, out, 1);
    assert.deepEqual([...out], [0, 10, 20, 30]);
    writeChannels({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) }, 1, out, 0);
    assert.equal(out[0], 76);
    writeChannels({ width: 1, height: 1, channels: 1, data: Uint8Array.from([9]) }, 3, out, 0);
    assert.deepEqual([...out.subarray(0, 3)], [9, 9, 9]);
  });
});
