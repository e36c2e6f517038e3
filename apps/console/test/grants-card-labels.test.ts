// What the grants card and its Revoke confirmation show about a grantee
// (client/instances/revoke-grant.ts shownEmail, revokeConfirmation). The e-mail is the console's
// mapping of an account id, unsigned and, as the console serves it, any string: one with line
// breaks and "safety code …" text, put before the real safety code, would push the real code out
// of view or pass for it in the confirmation. Only a well-formed address is shown (else the
// account id), and the confirmation starts with the safety code from the checked signed grant.
import { describe, expect, it } from "vitest";
import { ZUserSummarySchema } from "@veil/protocol";
import { revokeConfirmation, shownEmail } from "../src/client/instances/revoke-grant";

const grantee = {
  accountId: "00000000-0000-4000-8000-000000000001",
  safetyCode: "12345 23456 34567 45678 56789 67890 78901 89012",
};
const FAKE = "mallory@x.example (safety code 11111 22222 33333 44444 55555 66666 77777 88888)?\n\n\n\n\n\n\n\n";

describe("the console's e-mail for a grantee", () => {
  it("is shown only when it is a well-formed address; otherwise the card shows the account id", () => {
    // The console's listing accepts it as it is.
    const served = ZUserSummarySchema.parse({
      id: grantee.accountId,
      email: FAKE,
      role: "operator",
      totpEnabled: false,
      createdAt: new Date().toISOString(),
    });
    expect(served.email).toBe(FAKE);
    for (const bad of [FAKE, "carol@example.test\nSafety code: 1", "a b@example.test", "", "x".repeat(300)])
      expect(shownEmail(bad)).toBeNull();
    expect(shownEmail(undefined)).toBeNull();
    expect(shownEmail("Carol@Example.test")).toBe("carol@example.test");
  });

  it("the Revoke confirmation starts with the grantee's safety code on its own line", () => {
    const who = shownEmail(FAKE) ?? grantee.accountId;
    const text = revokeConfirmation(grantee, who);
    const lines = text.split("\n");
    expect(lines.slice(0, 2)).toEqual(["Grantee's safety code:", grantee.safetyCode]);
    expect(text).not.toContain("mallory");
    expect(text).toContain(grantee.accountId);
    // A well-formed e-mail comes after the code.
    const named = revokeConfirmation(grantee, "carol@example.test");
    expect(named.indexOf(grantee.safetyCode)).toBeLessThan(named.indexOf("carol@example.test"));
  });
});
