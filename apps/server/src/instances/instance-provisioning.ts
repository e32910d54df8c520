// Provisioning as the instance operations use it: from an instance's configuration (its secrets
// in clear, only in memory) to the changes its row takes: the provisioning state, sealed where it
// holds the vendor's tokens, and when they are to be refreshed.
import type { Connector } from "../connectors/registry.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SecretBox } from "../secrets/secret-box.js";
import type { InstanceCredentials, Provisioner } from "../provisioning/provisioner.js";
import { decodeState, encodeState, type ProvisioningState } from "../provisioning/state.js";
import { platformNames } from "../provisioning/templates.js";

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
   * entries and what the vendor issued, each over the one before; of them, only the platform's
   * own are templates. `acceptedOrigin`: where the stored secrets may go (undefined: the caller
   * has just sent them all).
   */
  function credentials(
    connector: Connector,
    configuration: Record<string, string>,
    state: ProvisioningState | undefined,
    acceptedOrigin: string | undefined,
  ): InstanceCredentials {
    const callerSecrets = Object.entries(configuration)
      .filter(([key]) => connector.secretKeys.has(key))
      .map(([, value]) => value);
    const values = {
      ...connector.platformConfiguration,
      ...connector.defaults,
      ...configuration,
      ...state?.issued,
      ...state?.issuedSecrets,
    };
    return {
      connector,
      scope: { values, templates: platformNames(connector.platformConfiguration, values) },
      secrets: [...callerSecrets, ...Object.values(state?.issuedSecrets ?? {})],
      acceptedOrigin,
    };
  }

  /** The origin stored secrets are bound to: where the vendor accepted them (none recorded on a row from before). */
  const boundOrigin = (state: ProvisioningState | undefined) => state?.acceptedOrigin;

  return {
    mode: provisioner.mode,

    /** Before a create: checks the credentials (throws the answer when refused or unreachable). */
    async forCreate(connector: Connector, organizationId: number, configuration: Record<string, string>): Promise<ProvisioningChanges> {
      return changes(organizationId, await provisioner.provision(credentials(connector, configuration, undefined, undefined)));
    },

    /** Whether a change from `before` to `after` is checked with the vendor (it touches a credential). */
    checksAgain(connector: Connector, before: Record<string, string>, after: Record<string, string>): boolean {
      if (provisioner.mode === "off") return false;
      const was = credentials(connector, before, undefined, undefined);
      const will = credentials(connector, after, undefined, undefined);
      return provisioner.credentialsChanged(connector, was.scope, will.scope);
    },

    /**
     * The secret entries a change must send again, because it moves where or as whom the check
     * sends them (an address entry, or another entry the check sends, such as a username) and it
     * does not send them itself; none when those stay. `supplied`: the entries the request sets.
     */
    secretsToSendAgain(
      connector: Connector,
      before: Record<string, string>,
      after: Record<string, string>,
      supplied: ReadonlySet<string>,
    ): string[] {
      const was = credentials(connector, before, undefined, undefined).scope;
      const will = credentials(connector, after, undefined, undefined).scope;
      const moved = [...provisioner.boundEntries(connector, will)].some(
        (name) => (was.values[name] ?? null) !== (will.values[name] ?? null),
      );
      if (!moved) return [];
      return [...provisioner.sentSecrets(connector, will)].filter((name) => !supplied.has(name)).sort();
    },

    /**
     * Before an update or a replace that touches a credential (`checksAgain`, which the caller asks
     * first, under the vendor lease): checks again (throws the answer when refused or unreachable).
     * The stored secrets the change does not send again go only where they were accepted.
     */
    async forChange(
      connector: Connector,
      record: ProvisionedRecord,
      before: Record<string, string>,
      after: Record<string, string>,
      supplied: ReadonlySet<string>,
    ): Promise<ProvisioningChanges> {
      const state = stateOf(record);
      // Compared as the caller set them: the tokens the vendor issued are not the caller's to change.
      const was = credentials(connector, before, undefined, undefined);
      const sentAgain = [...provisioner.sentSecrets(connector, was.scope)].every((name) => supplied.has(name));
      const will = credentials(connector, after, undefined, sentAgain ? undefined : boundOrigin(state));
      return changes(record.organizationId, await provisioner.provision(will, state));
    },

    /** On demand: checks anew; refused or unreachable, the instance becomes invalid and says why. */
    async verify(connector: Connector, record: ProvisionedRecord, configuration: Record<string, string>): Promise<ProvisioningChanges> {
      const state = stateOf(record);
      return changes(
        record.organizationId,
        await provisioner.check(credentials(connector, configuration, undefined, boundOrigin(state)), state),
      );
    },

    /**
     * What a request to the vendor's API on the instance's behalf (the proxy) is built from: the
     * credentials (the vendor's current tokens among them) bound to where they were accepted, and
     * the state they come from. Undefined when the instance was never provisioned.
     */
    forUse(
      connector: Connector,
      record: ProvisionedRecord,
      configuration: Record<string, string>,
    ): { credentials: InstanceCredentials; state: ProvisioningState | undefined } {
      const state = stateOf(record);
      return { credentials: credentials(connector, configuration, state, boundOrigin(state)), state };
    },

    /** When due: the refreshed state, or undefined when there is nothing to refresh. */
    async refresh(
      connector: Connector,
      record: ProvisionedRecord,
      configuration: Record<string, string>,
    ): Promise<ProvisioningChanges | undefined> {
      const state = stateOf(record);
      if (!state) return { refreshDueAt: null };
      return changes(
        record.organizationId,
        await provisioner.refresh(credentials(connector, configuration, state, boundOrigin(state)), state),
      );
    },
  };
}
