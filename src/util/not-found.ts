/**
 * Whether an OS error says the path is not there (ENOENT: no such file; ENOTDIR: a parent is a
 * file). Readers that treat an absent file as "nothing yet" catch exactly these and let every
 * other error (no permission, an I/O error) reach the error boundary, which words it.
 */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
