import * as fs from 'node:fs';

/**
 * JPEG decoding with libjpeg-turbo compiled to WebAssembly (the binary that
 * ships in the @cwasm/jpeg-turbo package), called through the TurboJPEG API.
 * Why not the package's own decode(): it allocates a decompressor per image
 * and always returns RGBA; reusing one decompressor and asking for RGB makes
 * small images (CIFAR's 32x32) about 2.5x faster than jpeg-js. libjpeg-turbo
 * is also the decoder PIL uses, so pixels match what torchvision would see.
 *
 * The wasm build has no real setjmp/longjmp: libjpeg's error exit throws a JS
 * exception straight through the wasm stack, leaving that instance's stack
 * pointer and heap unreliable. So after any error the instance is dropped and
 * the next call starts a fresh one.
 */

const TJPF_RGB = 0;

// The project compiles without the DOM lib, where TypeScript declares WebAssembly; Node has it.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

class JpegFailure extends Error {}

interface TurboExports {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(ptr: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(
    handle: number,
    src: number,
    size: number,
    width: number,
    height: number,
    subsamp: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    src: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    pixelFormat: number,
    flags: number,
  ): number;
  tjDestroy(handle: number): number;
}

const fail = (what: string) => () => {
  throw new JpegFailure(what);
};
const imports = {
  env: { setjmp: () => 0, longjmp: fail('corrupt or truncated image data') },
  wasi_snapshot_preview1: {
    proc_exit: fail('decoder exited'),
    environ_sizes_get: () => 0,
    environ_get: fail('environ_get'),
    fd_close: fail('fd_close'),
    fd_seek: fail('fd_seek'),
    fd_write: fail('fd_write'),
  },
};

let compiled: object | undefined;
let state: { ex: TurboExports; handle: number; meta: number; input: number; capacity: number } | undefined;

function start(): NonNullable<typeof state> {
  compiled ??= new Wasm.Module(fs.readFileSync(require.resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm')));
  const ex = new Wasm.Instance(compiled, imports).exports as unknown as TurboExports;
  const handle = ex.tjInitDecompress();
  if (handle === 0) throw new Error('libjpeg-turbo: cannot allocate a decompressor');
  return { ex, handle, meta: ex.malloc(16), input: 0, capacity: 0 };
}

export interface RgbImage {
  width: number;
  height: number;
  /** width*height*3 bytes, RGB (grey JPEGs are expanded). */
  data: Uint8Array;
}

/** Decode a JPEG to RGB. Throws Error('cannot decode JPEG: ...') for a corrupt or truncated file. */
export function decodeJpegRgb(buf: Uint8Array): RgbImage {
  const s = (state ??= start());
  const { ex } = s;
  let phase: 'header' | 'data' = 'header';
  try {
    if (buf.length > s.capacity) {
      if (s.input) ex.free(s.input);
      s.capacity = Math.max(buf.length, 1 << 16);
      s.input = ex.malloc(s.capacity);
    }
    new Uint8Array(ex.memory.buffer, s.input, buf.length).set(buf);
    if (ex.tjDecompressHeader3(s.handle, s.input, buf.length, s.meta, s.meta + 4, s.meta + 8, s.meta + 12) !== 0) {
      throw new JpegFailure('corrupt or truncated header');
    }
    phase = 'data';
    const [width, height] = new Uint32Array(ex.memory.buffer, s.meta, 2);
    const bytes = width * height * 3;
    const out = ex.malloc(bytes);
    if (out === 0) throw new JpegFailure(`image of ${width}x${height} is too large`);
    // Returns -1 on errors and on warnings (e.g. data ending early): both reject the file.
    const status = ex.tjDecompress2(s.handle, s.input, buf.length, out, width, width * 3, height, TJPF_RGB, 0);
    if (status !== 0) {
      ex.free(out);
      throw new JpegFailure('corrupt or truncated image data');
    }
    const data = new Uint8Array(bytes);
    data.set(new Uint8Array(ex.memory.buffer, out, bytes));
    ex.free(out);
    return { width, height, data };
  } catch (err) {
    state = undefined; // the instance may be inconsistent now: start afresh next time
    if (err instanceof JpegFailure) {
      // libjpeg's error exit lands here as the longjmp stub's exception: say which part was bad.
      throw new Error(`cannot decode JPEG: ${phase === 'header' ? 'corrupt or truncated header' : err.message}`);
    }
    throw err;
  }
}
