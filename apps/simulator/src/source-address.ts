/**
 * The source address of a device's outgoing connections (UniFi informs, the Veil channel).
 * Every simulated device has its own address; in 127.0.0.0/8 (the default), Linux routes all
 * of it to `lo`, so a socket can bind there and the companion sees one source address per
 * device, as on a real LAN, instead of every device arriving from 127.0.0.1.
 */
import { isIPv4 } from "node:net";

/** True for an IPv4 address in 127.0.0.0/8. */
export function isLoopbackIpv4(ip: string): boolean {
  return isIPv4(ip) && ip.startsWith("127.");
}

/** Socket options that bind to `deviceIp`, or none. */
export type SourceOptions = { localAddress: string; family: 4 } | Record<string, never>;

/**
 * `{localAddress, family: 4}` when the device's address is loopback and so is the target
 * (`localhost` or a 127.x.y.z literal): a loopback source cannot reach another host, so a
 * remote target keeps the system's choice of source, as does a device with a LAN address.
 * `family: 4` keeps `localhost` from resolving to ::1, which an IPv4 source cannot reach.
 */
export function sourceOptions(deviceIp: string, target: string | URL): SourceOptions {
  const host = (typeof target === "string" ? new URL(target) : target).hostname;
  if (!isLoopbackIpv4(deviceIp) || !(host === "localhost" || isLoopbackIpv4(host))) return {};
  return { localAddress: deviceIp, family: 4 };
}
