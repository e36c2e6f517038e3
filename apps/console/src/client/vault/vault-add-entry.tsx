"use client";
import { useState } from "react";
import { ZVaultPutBodySchema } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Progress } from "../components/progress";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "../instances/e2e-channel";

/**
 * Adds an entry (`vault.put`, operator+): the secret travels end to end and the companion seals
 * it to the vault's public key, so this works while the vault is locked. Secret fields are
 * cleared as soon as the request is sent.
 */
export function VaultAddEntry({ open, onDone }: { open: InstanceChannel; onDone: () => void }) {
  const task = useTask();
  const [targetKind, setTargetKind] = useState<"mac" | "group">("mac");
  const [target, setTarget] = useState("");
  const [label, setLabel] = useState("");
  const [kind, setKind] = useState<"password" | "sshKey">("password");
  const [username, setUsername] = useState("");
  const [secret, setSecret] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [notes, setNotes] = useState("");
  return (
    <form
      aria-label="Add a credential"
      onSubmit={(e) => {
        e.preventDefault();
        const body = ZVaultPutBodySchema.safeParse({
          target: targetKind === "mac" ? { mac: target.trim().toLowerCase() } : { group: target.trim() },
          label,
          secret:
            kind === "password"
              ? { kind, username, password: secret }
              : { kind, username, privateKey: secret, ...(passphrase ? { passphrase } : {}) },
          ...(notes ? { notes } : {}),
        });
        if (!body.success) {
          const path = body.error.issues[0]?.path.join(".") ?? "";
          task.setError(
            `Check the ${path.includes("mac") ? "MAC address" : path.includes("group") ? "group name" : path.split(".").pop() || "fields"}.`,
          );
          return;
        }
        setSecret("");
        setPassphrase("");
        void task
          .run(async (phase) => {
            phase("Sealing on the site");
            const r = await open.request("vault.put", body.data);
            if (r.status === "not_initialized") throw new Error("Create the vault first.");
            return true;
          })
          .then((ok) => {
            if (!ok) return;
            setNotes("");
            onDone();
          });
      }}
    >
      <fieldset className="segmented">
        <legend>For</legend>
        <label>
          <input type="radio" name="entry-for" checked={targetKind === "mac"} onChange={() => setTargetKind("mac")} />{" "}
          One device
        </label>
        <label>
          <input
            type="radio"
            name="entry-for"
            checked={targetKind === "group"}
            onChange={() => setTargetKind("group")}
          />{" "}
          A group
        </label>
      </fieldset>
      <Field
        label={targetKind === "mac" ? "Device MAC" : "Group name"}
        value={target}
        maxLength={64}
        onChange={(e) => setTarget(e.target.value)}
      />
      <Field label="Label" value={label} maxLength={128} onChange={(e) => setLabel(e.target.value)} />
      <div className="field">
        <label htmlFor="entry-kind">Kind</label>
        <select id="entry-kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="password">User name and password</option>
          <option value="sshKey">SSH key</option>
        </select>
      </div>
      <Field
        label="User name"
        autoComplete="off"
        value={username}
        maxLength={64}
        onChange={(e) => setUsername(e.target.value)}
      />
      {kind === "password" ? (
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          value={secret}
          maxLength={128}
          onChange={(e) => setSecret(e.target.value)}
        />
      ) : (
        <>
          <div className="field">
            <label htmlFor="entry-ssh-key">SSH private key</label>
            <textarea
              id="entry-ssh-key"
              rows={5}
              value={secret}
              maxLength={16_384}
              spellCheck={false}
              onChange={(e) => setSecret(e.target.value)}
            />
          </div>
          <Field
            label="Key passphrase (optional)"
            type="password"
            autoComplete="off"
            value={passphrase}
            maxLength={256}
            onChange={(e) => setPassphrase(e.target.value)}
          />
        </>
      )}
      <div className="field">
        <label htmlFor="entry-notes">Notes (sealed with the secret)</label>
        <textarea id="entry-notes" rows={2} value={notes} maxLength={4096} onChange={(e) => setNotes(e.target.value)} />
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={task.running}>
          Add to the vault
        </button>
      </div>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
    </form>
  );
}
