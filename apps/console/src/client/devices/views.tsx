"use client";
/** The instance pages of the devices area, each inside the instance frame (one E2E session per page). */
import { ZMacSchema } from "@veil/protocol";
import { Alert } from "../components/alert";
import { InstanceFrame } from "../instances/instance-frame";
import { DevicePage } from "./device-page";
import { DevicesPage } from "./devices-page";
import { OutagesPage } from "./outages-page";

export function DevicesView({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="devices">
      {(props) => <DevicesPage {...props} />}
    </InstanceFrame>
  );
}

/** `mac` comes from the URL: decoded, lower-cased and checked before it is sent anywhere. */
export function DeviceView({ id, mac }: { id: string; mac: string }) {
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
          <DevicePage {...props} mac={parsed.data} />
        ) : (
          <Alert>This is not a device address (expected a MAC such as aa:bb:cc:dd:ee:ff).</Alert>
        )
      }
    </InstanceFrame>
  );
}

export function OutagesView({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="outages">
      {(props) => <OutagesPage {...props} />}
    </InstanceFrame>
  );
}
