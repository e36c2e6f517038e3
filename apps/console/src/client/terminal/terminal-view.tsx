"use client";
/** The terminal page inside the instance frame (Devices tab, one E2E session for the page). */
import { ZMacSchema } from "@veil/protocol";
import { Alert } from "../components/alert";
import { InstanceFrame } from "../instances/instance-frame";
import { TerminalPage } from "./terminal-page";

/** `mac` comes from the URL: decoded, lower-cased and checked before it is sent anywhere. */
export function TerminalView({ id, mac }: { id: string; mac: string }) {
  let decoded = mac;
  try {
    decoded = decodeURIComponent(mac);
  } catch {
    // Left as is: the schema check below refuses it.
  }
  const parsed = ZMacSchema.safeParse(decoded.toLowerCase().replaceAll("-", ":"));
  return (
    <InstanceFrame id={id} tab="devices">
      {(props) =>
        parsed.success ? (
          <TerminalPage {...props} mac={parsed.data} />
        ) : (
          <Alert>This is not a device address (expected a MAC such as aa:bb:cc:dd:ee:ff).</Alert>
        )
      }
    </InstanceFrame>
  );
}
