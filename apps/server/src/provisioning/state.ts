// An instance's provisioning state as kept in its row: whether the last check or refresh
// succeeded, why not, the interactions, and the entries the vendor issued (SugarCRM's tokens).
// Issued secrets are sealed with the instance's secrets; the rest is plain JSON. A row written
// before provisioning existed (or with PROVISIONING=off) has none: it shows as valid, with no
// interactions, as it always did.
import type { ProvisionInteraction } from "./interactions.js";

export interface ProvisioningState {
  /** True only while the last check or refresh succeeded. */
  valid: boolean;
  /** Why the instance is not valid, in words (no secret). */
  invalidReason?: string;
  interactions: ProvisionInteraction[];
  /** Entries the vendor issued that are not secret (the time the token was issued). */
  issued: Record<string, string>;
  /** Entries the vendor issued that are secret (the tokens), in clear: only in memory. */
  issuedSecrets: Record<string, string>;
  /** When the issued tokens must be refreshed (epoch ms), or null when nothing needs refreshing. */
  refreshDueAt: number | null;
  /** When the issued access token expires (epoch ms): past it, the instance is not valid. */
  expiresAt?: number;
  /**
   * The origin (`https://host:port`) the vendor accepted the credentials at: stored secrets are
   * sent there and nowhere else. Absent on a row checked before origins were recorded.
   */
  acceptedOrigin?: string;
}

/** The state as its row column holds it: issued secrets sealed. */
interface StoredState {
  valid: boolean;
  invalidReason?: string;
  interactions: ProvisionInteraction[];
  issued: Record<string, string>;
  sealedIssuedSecrets?: string;
  expiresAt?: number;
  acceptedOrigin?: string;
}

export function encodeState(state: ProvisioningState, seal: (clear: string) => string): string {
  const stored: StoredState = {
    valid: state.valid,
    ...(state.invalidReason === undefined ? {} : { invalidReason: state.invalidReason }),
    interactions: state.interactions,
    issued: state.issued,
    ...(Object.keys(state.issuedSecrets).length ? { sealedIssuedSecrets: seal(JSON.stringify(state.issuedSecrets)) } : {}),
    ...(state.expiresAt === undefined ? {} : { expiresAt: state.expiresAt }),
    ...(state.acceptedOrigin === undefined ? {} : { acceptedOrigin: state.acceptedOrigin }),
  };
  return JSON.stringify(stored);
}

/** The state kept in a row, with its issued secrets opened; undefined for a row with none. */
export function decodeState(
  column: string | undefined,
  refreshDueAt: number | null,
  open: (sealed: string) => string,
): ProvisioningState | undefined {
  if (column === undefined) return undefined;
  const stored = JSON.parse(column) as StoredState;
  return {
    valid: stored.valid,
    ...(stored.invalidReason === undefined ? {} : { invalidReason: stored.invalidReason }),
    interactions: stored.interactions,
    issued: stored.issued,
    issuedSecrets: stored.sealedIssuedSecrets ? (JSON.parse(open(stored.sealedIssuedSecrets)) as Record<string, string>) : {},
    refreshDueAt,
    ...(stored.expiresAt === undefined ? {} : { expiresAt: stored.expiresAt }),
    ...(stored.acceptedOrigin === undefined ? {} : { acceptedOrigin: stored.acceptedOrigin }),
  };
}

/**
 * What a response shows of the state, read without opening a secret. An instance whose access
 * token has expired is not valid, whatever the last check said (a refresh is late or failed).
 */
export function shownState(
  column: string | undefined,
  now = Date.now(),
): {
  valid: boolean;
  interactions: ProvisionInteraction[];
  issued: Record<string, string>;
} {
  if (column === undefined) return { valid: true, interactions: [], issued: {} };
  const stored = JSON.parse(column) as StoredState;
  const expired = stored.expiresAt !== undefined && stored.expiresAt <= now;
  return { valid: stored.valid && !expired, interactions: stored.interactions, issued: stored.issued };
}
