"use client";
import { useState } from "react";
import { toBase64Url, wipe } from "@veil/crypto";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Progress } from "../components/progress";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "../instances/e2e-channel";
import { MAX_KEY_FILE_BYTES, VaultKeyFileError, openVaultKeyFile, parseVaultKeyFile } from "./vault-key-file";

/**
 * Unlocking (admin): the key file and the master password stay in this browser, which unwraps
 * the private key (Argon2id + authenticated unwrap). A wrong password or an altered file stops
 * here with a clear error and nothing is sent; otherwise `vault.unlock` carries the private key
 * end to end and the companion keeps it in memory until it locks.
 */
export function VaultUnlock({
  open,
  instanceId,
  publicKeySha256,
  onDone,
}: {
  open: InstanceChannel;
  instanceId: string;
  publicKeySha256: string | null;
  onDone: () => void;
}) {
  const task = useTask();
  const [file, setFile] = useState<File | null>(null);
  const [password, setPassword] = useState("");
  const [minutes, setMinutes] = useState("15");
  return (
    <form
      aria-label="Unlock the vault"
      onSubmit={(e) => {
        e.preventDefault();
        void task
          .run(async (phase) => {
            if (!file) throw new Error("Choose the vault key file.");
            if (file.size > MAX_KEY_FILE_BYTES)
              throw new VaultKeyFileError("malformed", "This file is too large to be a vault key file.");
            const idle = Number(minutes);
            if (!Number.isInteger(idle) || idle < 1 || idle > 240) throw new Error("Auto-lock is 1–240 minutes.");
            const parsed = parseVaultKeyFile(await file.text());
            const raw = await openVaultKeyFile(parsed, password, instanceId, publicKeySha256, phase);
            let privateKey: string;
            try {
              privateKey = toBase64Url(raw);
            } finally {
              wipe(raw);
            }
            phase("Sending the key end to end");
            const r = await open.request("vault.unlock", { privateKey, idleMinutes: idle });
            if (r.status === "wrong_key") throw new Error("The companion says this is not its vault's key.");
            if (r.status === "not_initialized") throw new Error("This instance has no vault yet.");
            return true;
          })
          .then((ok) => {
            if (!ok) return;
            setPassword("");
            onDone();
          });
      }}
    >
      <div className="field">
        <label htmlFor="vault-key-file">Vault key file</label>
        <input
          id="vault-key-file"
          type="file"
          accept=".json,application/json"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </div>
      <Field
        label="Master password"
        type="password"
        autoComplete="off"
        value={password}
        maxLength={200}
        onChange={(e) => setPassword(e.target.value)}
      />
      <Field
        label="Lock again after idle minutes"
        type="number"
        min={1}
        max={240}
        value={minutes}
        onChange={(e) => setMinutes(e.target.value)}
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={task.running || !file || password === ""}>
          Unlock the vault
        </button>
      </div>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
    </form>
  );
}
