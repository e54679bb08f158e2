/**
 * Dotted paths into an experiment: `model.layers[2].units` <-> ['model', 'layers', 2, 'units'].
 * The same syntax names keys in errors, `--set`, sweeps and diffs.
 */
export type PathSeg = string | number;

export function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Parses `a.b[3].c`; returns undefined for malformed paths (empty segments, bad brackets). */
export function parsePath(text: string): PathSeg[] | undefined {
  const out: PathSeg[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|(\.)/gy;
  let expectKey = true;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    m = re.exec(text);
    if (!m) return undefined;
    pos = re.lastIndex;
    if (m[1] !== undefined) {
      if (!expectKey) return undefined;
      out.push(m[1]);
      expectKey = false;
    } else if (m[2] !== undefined) {
      if (out.length === 0) return undefined;
      out.push(Number(m[2]));
      expectKey = false;
    } else {
      if (expectKey) return undefined;
      expectKey = true;
    }
  }
  if (expectKey || out.length === 0) return undefined;
  return out;
}

/** JSON pointer (`/model/layers/2/units`, ajv's instancePath) to path segments. */
export function fromPointer(pointer: string): PathSeg[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
