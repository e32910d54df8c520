// The account store on PostgreSQL.
import type pg from "pg";
import { guarded, inTransaction } from "../database/postgres.js";
import type { AccountStore, Caller, NewAccountHashes, OrganizationSummary } from "./store.js";

async function insertAccount(
  client: pg.PoolClient,
  { organizationName, organizationSecretHash, userSecretHash }: NewAccountHashes,
): Promise<Caller> {
  const now = new Date().toISOString();
  const organization = await client.query<{ id: number }>(
    "INSERT INTO organizations (name, secret_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    [organizationName, organizationSecretHash, now],
  );
  const organizationId = organization.rows[0]!.id;
  const user = await client.query<{ id: number }>(
    "INSERT INTO users (organization_id, secret_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    [organizationId, userSecretHash, now],
  );
  return { organizationId, userId: user.rows[0]!.id };
}

// Creates that must see every organization committed before them (the first account, a unique
// name) take this lock: it waits for other such creates and for plain inserts, not for readers.
const lockOrganizations = (client: pg.PoolClient) => client.query("LOCK TABLE organizations IN EXCLUSIVE MODE");

export function postgresAccountStore(pool: pg.Pool): AccountStore {
  return {
    createAccount: (input) => guarded(() => inTransaction(pool, (client) => insertAccount(client, input))),
    createUniquelyNamedAccount: (input) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          await lockOrganizations(client);
          const { rows } = await client.query<{ id: number }>("SELECT id FROM organizations WHERE name = $1 ORDER BY id LIMIT 1", [
            input.organizationName,
          ]);
          return rows[0] ? { existingOrganizationId: rows[0].id } : { created: await insertAccount(client, input) };
        }),
      ),
    createFirstAccount: (input) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          // Replicas starting together on an empty database: one creates the account, the others wait and see it.
          await lockOrganizations(client);
          const { rows } = await client.query<{ exists: boolean }>("SELECT EXISTS (SELECT 1 FROM organizations) AS exists");
          return rows[0]!.exists ? undefined : insertAccount(client, input);
        }),
      ),
    findCaller: (userHash, organizationHash) =>
      guarded(async () => {
        const { rows } = await pool.query<Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }>(
          `SELECT u.id AS "userId", o.id AS "organizationId", u.secret_hash AS "userSecretHash", o.secret_hash AS "organizationSecretHash"
             FROM users u JOIN organizations o ON o.id = u.organization_id
            WHERE u.secret_hash = $1 AND o.secret_hash = $2`,
          [userHash, organizationHash],
        );
        return rows[0];
      }),
    listOrganizations: () =>
      guarded(async () => {
        // One statement, so organizations and users come from one snapshot.
        const { rows } = await pool.query<OrganizationSummary>(
          `SELECT o.id, o.name, o.created_at AS "createdAt",
                  COALESCE(json_agg(json_build_object('id', u.id, 'createdAt', u.created_at) ORDER BY u.id)
                           FILTER (WHERE u.id IS NOT NULL), '[]') AS users
             FROM organizations o LEFT JOIN users u ON u.organization_id = o.id
            GROUP BY o.id ORDER BY o.id`,
        );
        return rows;
      }),
    rotateSecrets: (organizationId, organizationHash, userHash) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          // The organization's row stays locked until commit: rotations of one organization take turns.
          const organization = await client.query<{ name: string }>(
            "UPDATE organizations SET secret_hash = $1 WHERE id = $2 RETURNING name",
            [organizationHash, organizationId],
          );
          if (!organization.rows[0]) return undefined;
          const users = await client.query<{ id: number }>("SELECT id FROM users WHERE organization_id = $1 ORDER BY id FOR UPDATE", [
            organizationId,
          ]);
          const userIds = users.rows.map((row) => row.id);
          for (const userId of userIds) await client.query("UPDATE users SET secret_hash = $1 WHERE id = $2", [userHash(userId), userId]);
          return { organizationName: organization.rows[0].name, userIds };
        }),
      ),
  };
}
