// A reason the server cannot start that its message says in full (a wrong encryption key, a
// damaged database, a data directory it cannot use): the CLI prints it as one plain line, without
// a stack, and exits 1. Nothing has been written when one is thrown.
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A setting or a command line the server cannot use (the CLI exits 2 for it, a usage mistake). */
export class ConfigError extends StartupError {}

/** What a file-system error means, in words, for a message that already names the path. */
export function describeFileError(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOTDIR":
      return "a part of the path is a file, not a directory";
    case "EEXIST":
      return "it is a file, not a directory";
    case "EISDIR":
      return "it is a directory, not a file";
    case "ELOOP":
      return "too many symbolic links";
    case "ENOSPC":
      return "no space left on the device";
    default:
      return (message ?? String(error)).split("\n")[0]!;
  }
}
