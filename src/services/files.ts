/**
 * The data directory (`./.data` by default) as a small port: the runtime adapter provides the
 * implementation, so services stay on Web-standard APIs.
 */
export interface FileStore {
  /** Absolute path of the data directory, for libraries that want a path (PGlite). */
  readonly dir: string;
  read(name: string): Promise<string | undefined>;
  /** Writes a file readable by the owner only (0600). */
  writeSecret(name: string, contents: string): Promise<void>;
}
