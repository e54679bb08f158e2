import { imageInto, pixelArrayInto, type InputSize, type ResizeNote } from '../predict/preprocess';

/**
 * Request bodies of POST /predict to pixels. Two forms:
 *   - an image body (image/jpeg, image/png or application/octet-stream): one image;
 *   - JSON as TensorFlow Serving's REST API takes it, {"instances": [...]}, each instance
 *     either {"b64": "<base64 of a JPEG or PNG file>"} (TF Serving's way of sending bytes)
 *     or a nested array [height][width][channels] of 0-255 pixel values at the input size.
 * Images of another size are resized as for `pipeline predict`. A bad input is a
 * BadInput naming the instance; the server answers it with 400.
 */

export class BadInput extends Error {}

export interface DecodedInputs {
  pixels: Uint8Array;
  n: number;
  resized: Array<ResizeNote | undefined>;
}

export function fromImageBody(body: Uint8Array, size: InputSize): DecodedInputs {
  if (body.length === 0) throw new BadInput('the body is empty');
  const pixels = new Uint8Array(size.height * size.width * size.channels);
  try {
    return { pixels, n: 1, resized: [imageInto(body, size, pixels, 0)] };
  } catch (err) {
    throw new BadInput((err as Error).message);
  }
}

export function fromJsonBody(body: unknown, size: InputSize): DecodedInputs {
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances))
    throw new BadInput(
      'expected a JSON object {"instances": [...]}, each instance {"b64": "<base64 JPEG or PNG>"} or a [height][width][channels] pixel array',
    );
  if (instances.length === 0) throw new BadInput('"instances" is empty');
  const pixels = new Uint8Array(instances.length * size.height * size.width * size.channels);
  const resized = instances.map((instance: unknown, i) => {
    try {
      return instanceInto(instance, size, pixels, i);
    } catch (err) {
      throw new BadInput(`instances[${i}]: ${(err as Error).message}`);
    }
  });
  return { pixels, n: instances.length, resized };
}

function instanceInto(instance: unknown, size: InputSize, out: Uint8Array, i: number): ResizeNote | undefined {
  if (Array.isArray(instance)) {
    pixelArrayInto(instance, size, out, i);
    return undefined;
  }
  const b64 = (instance as { b64?: unknown } | null)?.b64;
  if (typeof b64 !== 'string') throw new Error('expected {"b64": "<base64 JPEG or PNG>"} or a pixel array');
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b64)) throw new Error('"b64" is not base64');
  return imageInto(Buffer.from(b64, 'base64'), size, out, i);
}
