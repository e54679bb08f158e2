import { pathToFileURL } from 'node:url';

/**
 * vega and vega-lite are ES modules with top-level await, which `require`
 * cannot load; a real dynamic import can. TypeScript compiling to CommonJS may
 * rewrite `import()` into `require()`, so the import goes through Function,
 * which the compiler leaves alone. Resolved from this file so the project's
 * own copies are used wherever the command runs from.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;

export interface VegaModules {
  /** vega-lite's compile(spec).spec gives a Vega spec. */
  compile(spec: object): { spec: object };
  parse(spec: object): unknown;
  View: new (runtime: unknown, opts: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

let loaded: Promise<VegaModules> | undefined;

export function loadVega(): Promise<VegaModules> {
  loaded ??= (async () => {
    const [vega, vegaLite] = await Promise.all([
      importEsm(pathToFileURL(require.resolve('vega')).href),
      importEsm(pathToFileURL(require.resolve('vega-lite')).href),
    ]);
    return { compile: vegaLite.compile, parse: vega.parse, View: vega.View };
  })();
  return loaded;
}

/** A vega-lite spec rendered to an SVG string, headless (no browser, no canvas). */
export async function renderSvg(vegaLiteSpec: object): Promise<string> {
  const { compile, parse, View } = await loadVega();
  const view = new View(parse(compile(vegaLiteSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
