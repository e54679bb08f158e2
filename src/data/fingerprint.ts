import { createHash } from 'node:crypto';

/**
 * The fingerprint of a dataset: sha256 over one line per file read,
 * `<name relative to the home>\0<sha256 of its contents>\n`, in name order.
 * Hashing each file on its own lets workers hash images in parallel and the
 * decoded-data cache keep the result; sorting makes read order irrelevant.
 */
export class Fingerprint {
  private readonly files = new Map<string, string>();

  /** Hash a file's contents (all at once). */
  addContent(name: string, content: Uint8Array): void {
    this.files.set(name, sha256Hex(content));
  }

  /** A file whose contents' sha256 is already known (hex). */
  addDigest(name: string, digestHex: string): void {
    this.files.set(name, digestHex);
  }

  get size(): number {
    return this.files.size;
  }

  digest(): string {
    // One string, one update(): 60,000 small update() calls cost more than the hashing itself.
    const names = [...this.files.keys()].sort();
    const text = names.map((name) => `${name}\u0000${this.files.get(name)}\n`).join('');
    return createHash('sha256').update(text).digest('hex');
  }
}

export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}
