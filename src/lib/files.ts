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
  /**
   * Makes this process the directory's only user (the embedded database lives in it), or throws
   * a ConfigError naming DATA_DIR and the process that holds it. Resolves to the release.
   */
  lock(): Promise<() => Promise<void>>;
}
