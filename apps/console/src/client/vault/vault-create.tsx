"use client";
import { useEffect, useMemo, useState } from "react";
import { fromBase64Url } from "@veil/crypto";
import { Alert } from "../components/alert";
import { Progress } from "../components/progress";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "../instances/e2e-channel";
import { createVaultKeyFile, keyFileDownload, publicKeySha256, type NewVault } from "./vault-key-file";

/**
 * Creating the vault (admin), in two steps so the key cannot be lost by accident: (1) this browser
 * makes the X25519 key pair and a generated master password, wraps the private key with the
 * password through Argon2id and offers the key file for download; the password is shown here
 * once. (2) Only when the admin has kept both does `vault.init` send the public key.
 */
export function VaultCreate({
  open,
  instanceId,
  instanceName,
  onDone,
}: {
  open: InstanceChannel;
  instanceId: string;
  instanceName: string;
  onDone: () => void;
}) {
  const task = useTask();
  const [made, setMade] = useState<NewVault | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [kept, setKept] = useState(false);
  const [copied, setCopied] = useState(false);
  const download = useMemo(() => (made ? keyFileDownload(made.file, instanceName) : null), [made, instanceName]);

  useEffect(() => {
    if (!download) return;
    const u = URL.createObjectURL(new Blob([download.text], { type: "application/json" }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [download]);

  if (!made)
    return (
      <div>
        <p>
          This browser makes the vault's key pair and a strong master password. The companion keeps only the public key:
          it can seal credentials at any time, and read them only while you unlock it with the key file and the
          password.
        </p>
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={task.running}
            onClick={() => void task.run((phase) => createVaultKeyFile(instanceId, phase)).then((m) => m && setMade(m))}
          >
            Create the vault
          </button>
        </div>
        <Progress phase={task.phase} startedAt={task.startedAt} />
        <Alert>{task.error}</Alert>
      </div>
    );

  return (
    <div data-testid="vault-new-key">
      <h3>Keep these two — they are shown only now</h3>
      <p>
        Master password:{" "}
        <code className="big" data-testid="master-password">
          {made.masterPassword}
        </code>{" "}
        <button
          type="button"
          className="small"
          onClick={() =>
            void navigator.clipboard.writeText(made.masterPassword).then(
              () => setCopied(true),
              () => task.setError("Could not copy; select the password and copy it by hand."),
            )
          }
        >
          Copy the master password
        </button>
        {copied ? <span role="status"> Copied.</span> : null}
      </p>
      <p>
        {url && download ? (
          <a href={url} download={download.name} data-testid="vault-key-download">
            Download the vault key file ({download.name})
          </a>
        ) : null}
      </p>
      <p className="hint">
        Public key fingerprint: <code>{publicKeySha256(fromBase64Url(made.publicKey)).slice(0, 16)}…</code>. Keep the
        file and the password apart; anyone with both can read every credential in this vault. Neither can be recovered:
        lose either and the stored credentials are gone.
      </p>
      <div className="field">
        <label>
          <input type="checkbox" checked={kept} onChange={(e) => setKept(e.target.checked)} /> I have saved the key file
          and the master password
        </label>
      </div>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={!kept || task.running}
          onClick={() =>
            void task
              .run(async (phase) => {
                phase("Sending the public key end to end");
                const r = await open.request("vault.init", { publicKey: made.publicKey });
                if (r.status === "exists") throw new Error("This instance already has a vault; nothing was changed.");
                return true;
              })
              .then((ok) => {
                if (!ok) return;
                setMade(null);
                onDone();
              })
          }
        >
          Activate the vault
        </button>
      </div>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
    </div>
  );
}
