// The account store on SQLite.
import type { SqliteDatabase } from "../database/sqlite.js";
import type { AccountStore, Caller } from "./store.js";

export function sqliteAccountStore(db: SqliteDatabase): AccountStore {
  const insertOrganization = db.prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES (?, ?, ?)");
  const insertUser = db.prepare("INSERT INTO users (organization_id, secret_hash, created_at) VALUES (?, ?, ?)");
  const selectCaller = db.prepare(
    `SELECT u.id AS userId, o.id AS organizationId, u.secret_hash AS userSecretHash, o.secret_hash AS organizationSecretHash
       FROM users u JOIN organizations o ON o.id = u.organization_id
      WHERE u.secret_hash = ? AND o.secret_hash = ?`,
  );
  const countOrganizations = db.prepare("SELECT count(*) FROM organizations").pluck();

  const createAccount = db.transaction((name: string, organizationHash: Buffer, userHash: Buffer): Caller => {
    const now = new Date().toISOString();
    const organizationId = Number(insertOrganization.run(name, organizationHash, now).lastInsertRowid);
    const userId = Number(insertUser.run(organizationId, userHash, now).lastInsertRowid);
    return { organizationId, userId };
  });

  const createFirstAccount = db.transaction((name: string, organizationHash: Buffer, userHash: Buffer): Caller | undefined =>
    (countOrganizations.get() as number) === 0 ? createAccount(name, organizationHash, userHash) : undefined,
  );

  return {
    createAccount: ({ organizationName, organizationSecretHash, userSecretHash }) =>
      Promise.resolve(createAccount.immediate(organizationName, organizationSecretHash, userSecretHash)),
    createFirstAccount: ({ organizationName, organizationSecretHash, userSecretHash }) =>
      Promise.resolve(createFirstAccount.immediate(organizationName, organizationSecretHash, userSecretHash)),
    findCaller: (userHash, organizationHash) =>
      Promise.resolve(
        selectCaller.get(userHash, organizationHash) as (Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }) | undefined,
      ),
  };
}
