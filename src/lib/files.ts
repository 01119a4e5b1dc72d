/**
 * The data directory (`./.data` by default) as a small port: the runtime adapter provides the
 * implementation, so services stay on Web-standard APIs.
 */
export interface FileStore {
  /** Creates (if needed) a subdirectory for a library that wants a path (PGlite) and returns its path. */
  directory(name: string): Promise<string>;
  read(name: string): Promise<string | undefined>;
  /** Writes a file readable by the owner only (0600). */
  writeSecret(name: string, contents: string): Promise<void>;
}
