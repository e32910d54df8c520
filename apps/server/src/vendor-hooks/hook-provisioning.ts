// Setting an instance's vendor webhooks up and down, as its writes ask: on a create or a change,
// the hooks its configuration wants (vendor-hook-settings.ts) registered at the vendor, those it
// no longer wants removed, and the row's changes that record them; on a delete, every hook
// removed. Live only: in sandbox (and with PROVISIONING=off) nothing is sent, and the receiving
// URL is still kept, so that a post to it can be tried offline.
import type { Logger } from "pino";
import type { Connector } from "../connectors/registry.js";
import { vendorHookSettings } from "../instances/vendor-hook-settings.js";
import type { OutboundStream } from "../outbound/guarded-stream.js";
import type { InstanceCredentials, ProvisioningMode } from "../provisioning/provisioner.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { hashSecret } from "../secrets/tokens.js";
import { HookRegistrationError } from "./errors.js";
import { decodeHookState, encodeHookState, newHookSecret, receivingUrl, type HookState } from "./hook-state.js";
import { hookApiOrigin, registerHook, removeHook, type HookCallLimits, type HookCallTarget } from "./vendor-hook-calls.js";

export interface HookProvisioningDeps {
  mode: ProvisioningMode;
  /** PUBLIC_URL; undefined: no instance receives vendor webhooks. */
  publicUrl: string | undefined;
  /** The API's base path, which the receiving URL is under. */
  basePath: string;
  stream: OutboundStream;
  secretBox: SecretBox;
  limits: HookCallLimits;
  logger: Logger;
}

/** The columns of the instance row a change of its hooks writes. */
export interface HookChanges {
  vendorHooks?: string | null;
  vendorHookHash?: Buffer | null;
}

export type HookProvisioning = ReturnType<typeof hookProvisioning>;

export function hookProvisioning(deps: HookProvisioningDeps) {
  const live = deps.mode === "live";

  function targetOf(connector: Connector, credentials: InstanceCredentials): HookCallTarget | undefined {
    const { events, api } = connector;
    if (events.type !== "polling" || events.webhooks === undefined || api.type !== "http") return undefined;
    return { api, webhooks: events.webhooks, credentials };
  }

  /** Removes `hooks` at the vendor, each on its own; the ones that could not be removed, with why. */
  async function removeAll(target: HookCallTarget | undefined, hooks: Record<string, string>): Promise<Record<string, string>> {
    const failed: Record<string, string> = {};
    if (!live || target === undefined) return failed;
    for (const [resource, hookId] of Object.entries(hooks)) {
      try {
        await removeHook(deps.stream, target, deps.limits, hookId);
      } catch (error) {
        failed[resource] = `${hookId}: ${(error as Error).message}`;
      }
    }
    return failed;
  }

  const warnLeft = (instance: string, failed: Record<string, string>) => {
    if (Object.keys(failed).length > 0)
      deps.logger.warn({ instance, failed }, "could not remove vendor webhooks: remove them at the vendor (their posts are answered 404)");
  };

  return {
    publicUrl: deps.publicUrl,

    /**
     * The changes that bring the instance's hooks where `credentials.scope.values` (its whole
     * configuration) wants them, from `stored` (its row's vendor_hooks): hooks registered for the
     * resources newly watched (a failure removes this call's and throws a 502: nothing is to be
     * stored), removed for those no longer watched (a failure is logged: the receiving URL no
     * longer takes that resource). `instance` names it in the log.
     */
    async changes(
      connector: Connector,
      organizationId: number,
      credentials: InstanceCredentials,
      stored: string | undefined,
      instance: string,
    ): Promise<HookChanges> {
      const current = decodeHookState(stored);
      const settings = vendorHookSettings(connector.events, credentials.scope.values);
      const target = targetOf(connector, credentials);
      const origin = target && hookApiOrigin(target);
      // Moved to another vendor host (its site.url): the hooks registered stay at the old one, where
      // neither the new credentials nor their ids belong. They are left there (logged once this
      // change is through) and their posts refused: the receiving URL gets a new secret, and every
      // resource is registered anew.
      const moved = current?.origin !== undefined && origin !== undefined && current.origin !== origin;
      const warnMoved = () => {
        if (moved && Object.keys(current.hooks).length > 0)
          deps.logger.warn(
            { instance, origin: current.origin, hooks: current.hooks },
            "vendor webhooks left at the vendor's old address: remove them there (their posts are answered 404)",
          );
      };
      if (!settings.hooked || deps.publicUrl === undefined) {
        if (current === undefined) return {};
        if (moved) warnMoved();
        else warnLeft(instance, await removeAll(target, current.hooks));
        return { vendorHooks: null, vendorHookHash: null };
      }
      const context = sealingContexts.vendorHookSecret(organizationId);
      const kept = moved ? undefined : current;
      const secret = kept ? deps.secretBox.open(kept.sealedSecret, context) : newHookSecret();
      const hooks: Record<string, string> = {};
      const unwanted: Record<string, string> = {};
      for (const [resource, hookId] of Object.entries(kept?.hooks ?? {})) {
        if (settings.resources.includes(resource)) hooks[resource] = hookId;
        else unwanted[resource] = hookId;
      }
      if (live && target !== undefined) {
        const added: Record<string, string> = {};
        // Own entries only: a module named `constructor` or `toString` is not one every object has.
        for (const resource of settings.resources.filter((name) => !Object.hasOwn(hooks, name))) {
          try {
            added[resource] = await registerHook(
              deps.stream,
              target,
              deps.limits,
              resource,
              receivingUrl(deps.publicUrl, deps.basePath, secret, resource),
            );
          } catch (error) {
            warnLeft(instance, await removeAll(target, added));
            throw new HookRegistrationError(connector.catalog.name, resource, (error as Error).message);
          }
        }
        Object.assign(hooks, added);
        warnLeft(instance, await removeAll(target, unwanted));
      }
      warnMoved();
      const state: HookState = {
        sealedSecret: kept?.sealedSecret ?? deps.secretBox.seal(secret, context),
        hooks,
        ...(origin === undefined ? {} : { origin }),
      };
      return { vendorHooks: encodeHookState(state), vendorHookHash: hashSecret(secret) };
    },

    /** Undoes `changes` that were not stored after all: the hooks they registered beyond `stored`'s are removed. */
    async undo(connector: Connector, credentials: InstanceCredentials, stored: string | undefined, changes: HookChanges, instance: string) {
      if (!changes.vendorHooks) return;
      const kept = decodeHookState(stored)?.hooks ?? {};
      const added = Object.fromEntries(
        Object.entries(decodeHookState(changes.vendorHooks)!.hooks).filter(([resource, id]) => kept[resource] !== id),
      );
      warnLeft(instance, await removeAll(targetOf(connector, credentials), added));
    },

    /** On a delete, once the row is gone: every hook removed (a failure is logged: its posts are answered 404). */
    async removeAll(connector: Connector, credentials: InstanceCredentials, stored: string | undefined, instance: string) {
      const current = decodeHookState(stored);
      if (current === undefined) return;
      warnLeft(instance, await removeAll(targetOf(connector, credentials), current.hooks));
    },
  };
}
