/**
 * A registry of one pluggable kind (layers, optimizers, losses, metrics,
 * schedules, datasets). Each entry carries its own JSON schema (TypeBox, so
 * the TypeScript type comes from the same object) and its builder; the
 * experiment schema is generated from the entries, so adding a layer is one
 * entry in one file.
 *
 * This folder holds what every registry shares (this class and the schema
 * parts entries are made of). It imports nothing from the project: builders
 * and data define entries on top of it, and src/schema assembles them.
 */
export interface Entry {
  /** The name users write in the experiment file (`type: conv2d`). */
  readonly type: string;
  /** One line for `--help`-like listings and the README. */
  readonly summary: string;
}

export class Registry<E extends Entry> {
  private readonly byType: ReadonlyMap<string, E>;

  constructor(
    readonly kind: string,
    readonly entries: readonly E[],
  ) {
    const map = new Map<string, E>();
    for (const e of entries) {
      if (map.has(e.type)) throw new Error(`duplicate ${kind} "${e.type}"`);
      map.set(e.type, e);
    }
    this.byType = map;
  }

  get(type: string): E | undefined {
    return this.byType.get(type);
  }

  /** Like get, for callers that ran validation first: a miss is a bug. */
  require(type: string): E {
    const e = this.byType.get(type);
    if (!e) throw new Error(`unknown ${this.kind} "${type}" reached a builder; validation should have caught it`);
    return e;
  }

  names(): string[] {
    return this.entries.map((e) => e.type);
  }
}
