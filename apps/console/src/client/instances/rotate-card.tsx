"use client";
import { useState } from "react";
import { fingerprint, identityPublicKey, toBase64Url } from "@veil/crypto";
import { decodeEnrollment } from "@veil/protocol";
import { Alert } from "../components/alert";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "./e2e-channel";
import { InstallPanel } from "./install-panel";
import type { VerifiedInstance } from "./trust";

/** Rotates the instance token over the E2E channel and shows the checked new install line. */
export function RotateCard({ channel, verified }: { channel: InstanceChannel | null; verified: VerifiedInstance }) {
  const [enrollment, setEnrollment] = useState<string | null>(null);
  const task = useTask();
  const rotate = () =>
    void task
      .run(async (phase) => {
        if (!channel) throw new Error("Open a secure session first.");
        phase("The companion is making a new token and re-wrapping its keys");
        const { enrollment: line } = await channel.request("token.rotate", {}, 120_000);
        // Check what came back before showing it: the certified instance, our signer, this console.
        const e = decodeEnrollment(line);
        if (
          e.instanceId.toLowerCase() !== verified.body.instanceId.toLowerCase() ||
          e.signerFingerprint !== toBase64Url(fingerprint(identityPublicKey(verified.signerPublicKey))) ||
          e.consoleUrl !== window.location.origin
        )
          throw new Error(
            "The new enrollment line does not name this instance, its signer and this console. It was not shown.",
          );
        return line;
      })
      .then((line) => line && setEnrollment(line));
  return (
    <section className="card" aria-labelledby="token-title">
      <h2 id="token-title">Instance token</h2>
      {enrollment ? (
        <InstallPanel
          title="Token rotated: new install line"
          enrollment={enrollment}
          onDone={() => setEnrollment(null)}
        />
      ) : (
        <>
          <p>
            Rotating makes the companion draw a new token, re-wrap its keys and replace the console's copy; the old
            install line stops working. The running companion keeps its connection. The new line comes back to this
            browser end to end.
          </p>
          {task.phase ? <p role="status">{task.phase}…</p> : null}
          <Alert>{task.error}</Alert>
          <div className="actions">
            <button type="button" onClick={rotate} disabled={!channel || task.running}>
              Rotate token
            </button>
          </div>
        </>
      )}
    </section>
  );
}
