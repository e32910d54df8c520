// Provisioning as the instances service uses it: from an instance's configuration (its secrets
// in clear, only in memory) to the changes its row takes: the provisioning state, sealed where it
// holds the vendor's tokens, and when they are to be refreshed.
import type { Connector } from "../connectors/registry.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SecretBox } from "../secrets/secret-box.js";
import type { InstanceCredentials, Provisioner } from "./provisioner.js";
import { decodeState, encodeState, type ProvisioningState } from "./state.js";

/** The columns of an instance row that provisioning writes. */
export interface ProvisioningChanges {
  provisioning?: string;
  refreshDueAt?: number | null;
}

/** What provisioning needs of an instance row. */
export interface ProvisionedRecord {
  organizationId: number;
  connectorKey: string;
  provisioning: string | undefined;
  refreshDueAt: number | null;
}

export type InstanceProvisioning = ReturnType<typeof instanceProvisioning>;

export function instanceProvisioning({ provisioner, secretBox }: { provisioner: Provisioner; secretBox: SecretBox }) {
  const context = sealingContexts.instanceSecrets;

  function stateOf(record: ProvisionedRecord): ProvisioningState | undefined {
    return decodeState(record.provisioning, record.refreshDueAt, (sealed) => secretBox.open(sealed, context(record.organizationId)));
  }

  function changes(organizationId: number, state: ProvisioningState | undefined): ProvisioningChanges {
    if (!state) return {};
    return {
      provisioning: encodeState(state, (clear) => secretBox.seal(clear, context(organizationId))),
      refreshDueAt: state.refreshDueAt,
    };
  }

  /**
   * Everything a check's templates may name: the platform's entries, the defaults, the caller's
   * entries and what the vendor issued, each over the one before.
   */
  function credentials(connector: Connector, configuration: Record<string, string>, state?: ProvisioningState): InstanceCredentials {
    const callerSecrets = Object.entries(configuration)
      .filter(([key]) => connector.secretKeys.has(key))
      .map(([, value]) => value);
    return {
      connector,
      values: { ...connector.platformConfiguration, ...connector.defaults, ...configuration, ...state?.issued, ...state?.issuedSecrets },
      secrets: [...callerSecrets, ...Object.values(state?.issuedSecrets ?? {})],
    };
  }

  return {
    mode: provisioner.mode,

    /** Before a create: checks the credentials (throws the answer when refused or unreachable). */
    async forCreate(connector: Connector, organizationId: number, configuration: Record<string, string>): Promise<ProvisioningChanges> {
      return changes(organizationId, await provisioner.provision(credentials(connector, configuration)));
    },

    /**
     * Before an update or a replace: checks again when the change touches a credential (throws
     * the answer when refused or unreachable); otherwise nothing changes.
     */
    async forChange(
      connector: Connector,
      record: ProvisionedRecord,
      before: Record<string, string>,
      after: Record<string, string>,
    ): Promise<ProvisioningChanges> {
      const state = stateOf(record);
      const was = credentials(connector, before, state);
      const will = credentials(connector, after);
      if (!provisioner.credentialsChanged(connector, was.values, will.values)) return {};
      return changes(record.organizationId, await provisioner.provision(will, state?.interactions));
    },

    /** On demand: checks anew; refused or unreachable, the instance becomes invalid and says why. */
    async verify(connector: Connector, record: ProvisionedRecord, configuration: Record<string, string>): Promise<ProvisioningChanges> {
      const state = stateOf(record);
      return changes(record.organizationId, await provisioner.check(credentials(connector, configuration), state?.interactions));
    },

    /** When due: the refreshed state, or undefined when there is nothing to refresh. */
    async refresh(
      connector: Connector,
      record: ProvisionedRecord,
      configuration: Record<string, string>,
    ): Promise<ProvisioningChanges | undefined> {
      const state = stateOf(record);
      if (!state) return { refreshDueAt: null };
      return changes(record.organizationId, await provisioner.refresh(credentials(connector, configuration, state), state));
    },
  };
}
