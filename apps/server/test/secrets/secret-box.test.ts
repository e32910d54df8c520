import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/secrets/secret-box.js";

describe("the secret box (AES-256-GCM at rest)", () => {
  const box = createSecretBox(randomBytes(32));

  it("opens what it sealed, in the same context, and seals the same text differently each time", () => {
    const sealed = box.seal("p@ssw0rd ✓", "instance:1:2");
    expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    expect(box.open(sealed, "instance:1:2")).toBe("p@ssw0rd ✓");
    expect(box.seal("p@ssw0rd ✓", "instance:1:2")).not.toBe(sealed);
  });

  it("refuses to open in another context, with another key, or once altered", () => {
    const sealed = box.seal("secret", "instance:1:2");
    expect(() => box.open(sealed, "instance:1:3")).toThrow();
    expect(() => createSecretBox(randomBytes(32)).open(sealed, "instance:1:2")).toThrow();
    const [version, nonce, tag, ciphertext] = sealed.split(".");
    const flipped = ciphertext!.startsWith("A") ? `B${ciphertext!.slice(1)}` : `A${ciphertext!.slice(1)}`;
    expect(() => box.open([version, nonce, tag, flipped].join("."), "instance:1:2")).toThrow();
    expect(() => box.open("v2.a.b.c", "instance:1:2")).toThrow("not a sealed value");
  });

  it("takes only a 32-byte key, and keeps its own copy of it", () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow("32 bytes");
    const key = randomBytes(32);
    const own = createSecretBox(key);
    const sealed = own.seal("x", "c");
    key.fill(0); // the caller's buffer wiped or reused: the box still opens what it sealed
    expect(own.open(sealed, "c")).toBe("x");
  });
});
