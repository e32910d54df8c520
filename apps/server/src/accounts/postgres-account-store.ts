// The account store on PostgreSQL.
import type pg from "pg";
import { guarded, inTransaction } from "../database/postgres.js";
import type { AccountStore, Caller, NewAccountHashes } from "./store.js";

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

export function postgresAccountStore(pool: pg.Pool): AccountStore {
  return {
    createAccount: (input) => guarded(() => inTransaction(pool, (client) => insertAccount(client, input))),
    createFirstAccount: (input) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          // Replicas starting together on an empty database: one creates the account, the others wait and see it.
          await client.query("LOCK TABLE organizations IN EXCLUSIVE MODE");
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
  };
}
