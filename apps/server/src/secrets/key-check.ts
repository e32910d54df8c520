// The key check: a known value sealed with the key of the first start, kept in the database (one
// row, shared by every replica). A start whose key does not open it is refused before anything is
// written, so one database never holds data sealed under two keys. A database from before the
// check gets one on its first start, only once the key has opened the sealed values already there;
// and a missing key file is never replaced by a fresh key while the database holds sealed data.
import { KeyMismatchError } from "./errors.js";
import { sealingContexts } from "./contexts.js";
import { createKeyFile, keyFilePath, readKeyFile } from "./key-file.js";
import { createSecretBox, type SecretBox } from "./secret-box.js";

/** A value sealed in the database, with the context it was sealed under. */
export interface SealedSample {
  sealed: string;
  context: string;
}

export interface KeyCheckStore {
  /** The sealed key check, or undefined when the database has none yet. */
  read(): Promise<string | undefined>;
  /** Stores `sealed` as the key check unless one is there already; returns the one stored. */
  claim(sealed: string): Promise<string>;
  /** A few of the values the database holds sealed (none when it holds none): the instance store's. */
  samples(): Promise<SealedSample[]>;
}

/** The key check's own row, as each dialect keeps it; the samples come from the stores that seal. */
export type KeyCheckRow = Omit<KeyCheckStore, "samples">;

const knownValue = "instances-api key check";
const mismatch = "the encryption key does not match the stored data";

/**
 * The secret box for the configured key (ENCRYPTION_KEY), or else for the key file in `dataDir`,
 * once the database's key check (or, before there is one, its sealed data) proves it is the key
 * the data was sealed with.
 */
export async function unlockSecretBox(store: KeyCheckStore, configuredKey: Buffer | undefined, dataDir: string): Promise<SecretBox> {
  if (configuredKey) return checked(store, createSecretBox(configuredKey), "ENCRYPTION_KEY");
  const file = keyFilePath(dataDir);
  let key = readKeyFile(file);
  if (!key) {
    if ((await store.read()) !== undefined || (await store.samples()).length > 0) {
      throw new KeyMismatchError(
        `${mismatch}: the key file ${file} is missing and the database holds data sealed with a key; restore that file or set ENCRYPTION_KEY to the key`,
      );
    }
    key = createKeyFile(file);
  }
  return checked(store, createSecretBox(key), `the key in ${file}`);
}

async function checked(store: KeyCheckStore, box: SecretBox, source: string): Promise<SecretBox> {
  const refused = new KeyMismatchError(
    `${mismatch}: ${source} does not open the data in the database; start with the key it was sealed with`,
  );
  let check = await store.read();
  if (check === undefined) {
    for (const sample of await store.samples()) {
      if (!opens(box, sample.sealed, sample.context)) throw refused;
    }
    check = await store.claim(box.seal(knownValue, sealingContexts.keyCheck));
  }
  if (!opens(box, check, sealingContexts.keyCheck, knownValue)) throw refused;
  return box;
}

function opens(box: SecretBox, sealed: string, context: string, expected?: string): boolean {
  try {
    const plain = box.open(sealed, context);
    return expected === undefined || plain === expected;
  } catch {
    return false; // GCM's tag does not verify: another key (or a damaged value)
  }
}
