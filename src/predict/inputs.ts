import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * The inputs of `pipeline predict`, in order: image files as given, the images of a folder
 * (recursively, names sorted as the data pipeline sorts them), or `-` for paths on stdin,
 * one a line. A path that does not exist is passed on as it is: reading it fails, and the
 * failure is reported with its name like any other unreadable input.
 */

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface InputEvents {
  /** A folder held files without an image extension: named, not read. */
  onIgnored?(folder: string, count: number): void;
}

export async function* expandInputs(
  args: readonly string[],
  stdin: NodeJS.ReadableStream,
  events: InputEvents = {},
): AsyncGenerator<string> {
  for (const arg of args) {
    if (arg === '-') {
      const lines = readline.createInterface({ input: stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        const p = line.trim();
        if (p) yield* expandPath(p, events);
      }
    } else {
      yield* expandPath(arg, events);
    }
  }
}

function* expandPath(p: string, events: InputEvents): Generator<string> {
  let isDir = false;
  try {
    isDir = fs.statSync(p).isDirectory();
  } catch {
    // Deliberate: missing or unreadable, it is reported (by name, with the others) when it is read.
  }
  if (!isDir) {
    yield p;
    return;
  }
  yield* walk(p, events);
}

function* walk(dir: string, events: InputEvents): Generator<string> {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !d.name.startsWith('.'));
  entries.sort((a, b) => byName(a.name, b.name));
  let ignored = 0;
  for (const d of entries) {
    const p = path.join(dir, d.name);
    if (d.isDirectory() || (d.isSymbolicLink() && isDirectory(p))) {
      yield* walk(p, events);
    } else if (IMAGE_EXTENSIONS.includes(path.extname(d.name).toLowerCase())) {
      yield p;
    } else {
      ignored++;
    }
  }
  if (ignored) events.onIgnored?.(dir, ignored);
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    // Deliberate: a link to nothing (or to what cannot be read) is no folder; it is reported when read as an input.
    return false;
  }
}
