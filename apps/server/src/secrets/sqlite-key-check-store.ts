// The key check on SQLite: the key_check row.
import type { SqliteDatabase } from "../database/sqlite.js";
import type { KeyCheckRow } from "./key-check.js";

export function sqliteKeyCheckStore(db: SqliteDatabase): KeyCheckRow {
  const select = db.prepare("SELECT sealed FROM key_check WHERE id = 1").pluck();
  const insert = db.prepare("INSERT INTO key_check (id, sealed, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING");
  const read = () => select.get() as string | undefined;
  return {
    read: () => Promise.resolve(read()),
    claim: (sealed) => {
      insert.run(sealed, new Date().toISOString());
      return Promise.resolve(read()!);
    },
  };
}
