import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

/**
 * This host's interface addresses. On Linux, listing them opens a netlink socket; where the
 * sandbox refuses one (a unit whose RestrictAddressFamilies leaves out AF_NETLINK), Node throws
 * ERR_SYSTEM_ERROR. That must not stop the companion: the caller gets none, and `onError` why.
 */
export function hostAddresses(onError: (error: unknown) => void): NetworkInterfaceInfo[] {
  try {
    return Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  } catch (error) {
    onError(error);
    return [];
  }
}
