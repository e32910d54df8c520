// The account store on SQLite.
import type { SqliteDatabase } from "../database/sqlite.js";
import type { AccountStore, Caller, OrganizationSummary } from "./store.js";

export function sqliteAccountStore(db: SqliteDatabase): AccountStore {
  const insertOrganization = db.prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES (?, ?, ?)");
  const insertUser = db.prepare("INSERT INTO users (organization_id, secret_hash, created_at) VALUES (?, ?, ?)");
  const selectCaller = db.prepare(
    `SELECT u.id AS userId, o.id AS organizationId, u.secret_hash AS userSecretHash, o.secret_hash AS organizationSecretHash
       FROM users u JOIN organizations o ON o.id = u.organization_id
      WHERE u.secret_hash = ? AND o.secret_hash = ?`,
  );
  const countOrganizations = db.prepare("SELECT count(*) FROM organizations").pluck();
  const selectOrganizationNamed = db.prepare("SELECT id FROM organizations WHERE name = ? ORDER BY id LIMIT 1").pluck();
  const selectOrganizations = db.prepare("SELECT id, name, created_at AS createdAt FROM organizations ORDER BY id");
  const selectUsers = db.prepare("SELECT id, organization_id AS organizationId, created_at AS createdAt FROM users ORDER BY id");
  const updateOrganizationSecret = db.prepare("UPDATE organizations SET secret_hash = ? WHERE id = ? RETURNING name").pluck();
  const selectUserIds = db.prepare("SELECT id FROM users WHERE organization_id = ? ORDER BY id").pluck();
  const updateUserSecret = db.prepare("UPDATE users SET secret_hash = ? WHERE id = ?");

  const createAccount = db.transaction((name: string, organizationHash: Buffer, userHash: Buffer): Caller => {
    const now = new Date().toISOString();
    const organizationId = Number(insertOrganization.run(name, organizationHash, now).lastInsertRowid);
    const userId = Number(insertUser.run(organizationId, userHash, now).lastInsertRowid);
    return { organizationId, userId };
  });

  const createFirstAccount = db.transaction((name: string, organizationHash: Buffer, userHash: Buffer): Caller | undefined =>
    (countOrganizations.get() as number) === 0 ? createAccount(name, organizationHash, userHash) : undefined,
  );

  const createUniquelyNamedAccount = db.transaction((name: string, organizationHash: Buffer, userHash: Buffer) => {
    const existingOrganizationId = selectOrganizationNamed.get(name) as number | undefined;
    return existingOrganizationId === undefined ? { created: createAccount(name, organizationHash, userHash) } : { existingOrganizationId };
  });

  const listOrganizations = db.transaction((): OrganizationSummary[] => {
    const organizations = (selectOrganizations.all() as Omit<OrganizationSummary, "users">[]).map((o) => ({
      ...o,
      users: [] as OrganizationSummary["users"],
    }));
    const byId = new Map(organizations.map((o) => [o.id, o]));
    for (const { id, organizationId, createdAt } of selectUsers.all() as { id: number; organizationId: number; createdAt: string }[]) {
      byId.get(organizationId)?.users.push({ id, createdAt });
    }
    return organizations;
  });

  const rotateSecrets = db.transaction((organizationId: number, organizationHash: Buffer, userHash: (userId: number) => Buffer) => {
    const organizationName = updateOrganizationSecret.get(organizationHash, organizationId) as string | undefined;
    if (organizationName === undefined) return undefined;
    const userIds = selectUserIds.all(organizationId) as number[];
    for (const userId of userIds) updateUserSecret.run(userHash(userId), userId);
    return { organizationName, userIds };
  });

  return {
    createAccount: ({ organizationName, organizationSecretHash, userSecretHash }) =>
      Promise.resolve(createAccount.immediate(organizationName, organizationSecretHash, userSecretHash)),
    createUniquelyNamedAccount: ({ organizationName, organizationSecretHash, userSecretHash }) =>
      Promise.resolve(createUniquelyNamedAccount.immediate(organizationName, organizationSecretHash, userSecretHash)),
    createFirstAccount: ({ organizationName, organizationSecretHash, userSecretHash }) =>
      Promise.resolve(createFirstAccount.immediate(organizationName, organizationSecretHash, userSecretHash)),
    findCaller: (userHash, organizationHash) =>
      Promise.resolve(
        selectCaller.get(userHash, organizationHash) as (Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }) | undefined,
      ),
    listOrganizations: () => Promise.resolve(listOrganizations.deferred()),
    rotateSecrets: (organizationId, organizationHash, userHash) =>
      Promise.resolve(rotateSecrets.immediate(organizationId, organizationHash, userHash)),
  };
}
