// The key file, `<dataDir>/encryption.key`, used when ENCRYPTION_KEY is not set. It is created
// (mode 0600, in a directory of mode 0700) only while the database holds nothing sealed, and never
// replaced: key-check.ts decides. Created with the exclusive flag, so two processes starting at
// once cannot each write a different key.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { StartupError, describeFileError } from "../startup-error.js";
import { makeDirectory } from "../make-directory.js";
import { decodeKey } from "./secret-box.js";

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, "encryption.key");
}

/** The key in `file`, or undefined when there is no such file. */
export function readKeyFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StartupError(`cannot read the key file ${file}: ${describeFileError(error)}`);
  }
  const key = decodeKey(text.trimEnd()); // the newline this module writes after the key
  if (!key) throw new StartupError(`the key file ${file} does not hold a 32-byte key (base64 or 64 hex digits, nothing else)`);
  return key;
}

/** A new random key in `file`; the one already there if another process created it first. */
export function createKeyFile(file: string): Buffer {
  const dir = path.dirname(file);
  try {
    makeDirectory(dir, 0o700);
  } catch (error) {
    throw new StartupError(`cannot use the data directory ${dir}: ${describeFileError(error)}`);
  }
  try {
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(32).toString("base64") + "\n");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new StartupError(`cannot create the key file ${file}: ${describeFileError(error)}`);
    }
  }
  const key = readKeyFile(file);
  if (!key) throw new StartupError(`cannot create the key file ${file}: it vanished as it was created`);
  return key;
}
