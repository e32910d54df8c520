// The context (AES-GCM's additional data) each kind of sealed value is bound to: a value opens only
// under the context it was sealed with, so it cannot be moved to another organization's row.
// These strings are part of the stored data: changing one makes every value sealed under it
// unreadable.
export const sealingContexts = {
  instanceSecrets: (organizationId: number) => `instance-secrets:${organizationId}`,
  idempotentResponse: (organizationId: number, key: string) => `idempotent-response:${organizationId}:${key}`,
  keyCheck: "key-check",
  vendorHookSecret: (organizationId: number) => `vendor-hook-secret:${organizationId}`,
  eventSigningSecret: (organizationId: number, instanceId: number) => `event-signing-secret:${organizationId}:${instanceId}`,
} as const;
