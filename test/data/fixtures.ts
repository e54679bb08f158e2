import type { DatasetConfig } from '../../src/data/types';
/**
 * Builders for small, known datasets in temp dirs: CIFAR binary batches, a
 * .tar.gz writer, gzip IDX files, PNG/JPEG images and a local HTTP server.
 * Pixel values follow formulas so tests can assert exact decoded bytes.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

const created: string[] = [];
process.on('exit', () => {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed when the test process exits. */
export function tempDir(prefix = 'pipeline-data-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export const md5 = (buf: Uint8Array) => createHash('md5').update(buf).digest('hex');

/** The pixel CIFAR example `index` has at (pixel p, channel c): a formula the test can recompute. */
export const cifarPixel = (index: number, p: number, c: number) => (index * 7 + p * 3 + c * 101) % 256;

/** A CIFAR-10 binary batch of records with these labels; example `first + r` follows cifarPixel. */
export function cifarBatch(labels: number[], first = 0): Buffer {
  const buf = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, r) => {
    const o = r * 3073;
    buf[o] = label;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[o + 1 + c * 1024 + p] = cifarPixel(first + r, p, c);
  });
  return buf;
}

export const CIFAR_TRAIN = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];

/** The six batch files with `perFile` records each (labels cycle 0..9); returns name -> bytes. */
export function cifarFiles(perFile = 4): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let first = 0;
  for (const name of [...CIFAR_TRAIN, 'test_batch.bin']) {
    const labels = Array.from({ length: perFile }, (_, r) => (first + r) % 10);
    files.set(name, cifarBatch(labels, first));
    first += perFile;
  }
  files.set('batches.meta.txt', Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n'));
  return files;
}

export function writeFiles(dir: string, files: Map<string, Buffer>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data);
}

/** A ustar archive (uncompressed) of the entries; directories are implied. */
export function tar(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data } of entries) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The official archive's layout: cifar-10-batches-bin/<files>, gzipped. */
export function cifarArchive(perFile = 4): Buffer {
  const entries = [...cifarFiles(perFile)].map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data }));
  return zlib.gzipSync(tar(entries));
}

export const idxPixel = (index: number, p: number) => (index * 13 + p) % 256;

export function idxImages(n: number, rows = 28, cols = 28, first = 0): Buffer {
  const buf = Buffer.alloc(16 + n * rows * cols);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(n, 4);
  buf.writeUInt32BE(rows, 8);
  buf.writeUInt32BE(cols, 12);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < rows * cols; p++) buf[16 + i * rows * cols + p] = idxPixel(first + i, p);
  return buf;
}

export function idxLabels(labels: number[]): Buffer {
  const buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (buf[8 + i] = l));
  return buf;
}

/** The four MNIST files (gzipped): `train` and `test` examples, labels cycling 0..9. */
export function idxFiles(train = 20, test = 10): Map<string, Buffer> {
  const cycle = (n: number, first: number) => Array.from({ length: n }, (_, i) => (first + i) % 10);
  return new Map([
    ['train-images-idx3-ubyte.gz', zlib.gzipSync(idxImages(train))],
    ['train-labels-idx1-ubyte.gz', zlib.gzipSync(idxLabels(cycle(train, 0)))],
    ['t10k-images-idx3-ubyte.gz', zlib.gzipSync(idxImages(test, 28, 28, train))],
    ['t10k-labels-idx1-ubyte.gz', zlib.gzipSync(idxLabels(cycle(test, train)))],
  ]);
}

/** RGBA pixels from f(x, y) -> [r, g, b, a]. */
export function rgba(width: number, height: number, f: (x: number, y: number) => number[]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = f(x, y);
      data.set([r, g, b, a], (y * width + x) * 4);
    }
  return data;
}

/** colorType 0 grey, 2 RGB, 6 RGBA. */
export function png(
  width: number,
  height: number,
  f: (x: number, y: number) => number[],
  colorType: 0 | 2 | 6 = 2,
): Buffer {
  const image = new PNG({ width, height });
  image.data = rgba(width, height, f);
  return PNG.sync.write(image, { colorType, inputColorType: 6, inputHasAlpha: true });
}

export function jpg(width: number, height: number, f: (x: number, y: number) => number[], quality = 100): Buffer {
  return Buffer.from(jpeg.encode({ width, height, data: rgba(width, height, f) }, quality).data);
}

/**
 * A baseline one-component (grey) 8x8 JPEG of uniform value 128 + dc/8,
 * built by hand: jpeg-js's encoder only writes colour JPEGs.
 * Huffman tables hold a single code each ('0'): DC category 7, AC end-of-block.
 */
export function greyJpeg8x8(dcDiff = 80): Buffer {
  const seg = (marker: number, body: number[]) => [
    0xff,
    marker,
    (body.length + 2) >> 8,
    (body.length + 2) & 0xff,
    ...body,
  ];
  const category = dcDiff === 0 ? 0 : Math.floor(Math.log2(Math.abs(dcDiff))) + 1;
  // Entropy bits: DC code '0', then `category` bits of the (positive) diff, then AC EOB code '0'.
  let bits = '0' + (category ? dcDiff.toString(2).padStart(category, '0') : '') + '0';
  while (bits.length % 8) bits += '1';
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = parseInt(bits.slice(i, i + 8), 2);
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00);
  }
  const counts = (n: number) => [n, ...new Array(15).fill(0)]; // codes per length 1..16
  return Buffer.from([
    0xff,
    0xd8,
    ...seg(0xdb, [0x00, ...new Array(64).fill(1)]), // quantization table 0: all ones
    ...seg(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]), // SOF0: 8-bit, 8x8, 1 component, table 0
    ...seg(0xc4, [0x00, ...counts(1), category]), // DC table 0
    ...seg(0xc4, [0x10, ...counts(1), 0x00]), // AC table 0
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    ...scan,
    0xff,
    0xd9,
  ]);
}

export interface TestServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (ephemeral port); `handler` answers each request. */
export async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every path under dir (relative), to assert nothing was left behind. */
export function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/')).sort();
}

/** A dataset section as the loader hands it over (defaults filled): scale to [0, 1], no split, no augmentation. */
export function datasetConfig(name: DatasetConfig['name'], over: Partial<DatasetConfig> = {}): DatasetConfig {
  return { name, validationSplit: 0, normalize: { type: 'scale' }, augment: {}, shuffle: true, ...over };
}
