/** Option parsers shared by commands. */

/** Collects a repeatable option (`--set a=1 --set b=2`) into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
