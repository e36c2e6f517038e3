/**
 * The small shell a simulated device offers (HTTPS `shell` endpoint, the Veil terminal, and
 * UniFi `cmd` replies): help, uname, uptime, ifconfig, hostname, reboot, exit, and the two
 * UniFi adoption commands set-inform and syswrapper.sh set-adopt.
 */
import type { SimDevice } from "./device";

/** What running a line did besides printing. */
export interface ShellResult {
  output: string;
  ok: boolean;
  /** The device should reboot after replying. */
  reboot?: boolean;
  /** The session should end. */
  exit?: boolean;
}

const HELP =
  "commands: help, uname [-a], uptime, ifconfig, hostname, info, set-inform <url>, syswrapper.sh set-adopt <url> <authkey>, reboot, exit";

function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `up ${d} days, ${h}:${String(m).padStart(2, "0")}`;
}

/** Runs one command line against a device. Never throws. */
export function runShell(device: SimDevice, line: string, now: number): ShellResult {
  const argv = line.trim().split(/\s+/).filter(Boolean).slice(0, 8);
  const [cmd, ...args] = argv;
  switch (cmd) {
    case undefined:
      return { output: "", ok: true };
    case "help":
      return { output: HELP, ok: true };
    case "uname":
      return {
        output:
          args[0] === "-a"
            ? `Linux ${device.hostname} 4.4.153 #1 SMP ${device.spec.model} v${device.firmware} mips GNU/Linux`
            : "Linux",
        ok: true,
      };
    case "uptime":
      return {
        output: ` ${formatUptime(device.uptime(now))},  load average: ${(device.cpu / 25).toFixed(2)}`,
        ok: true,
      };
    case "hostname":
      return { output: device.hostname, ok: true };
    case "info":
      return {
        output: `Model: ${device.spec.display}\nVersion: ${device.firmware}\nMAC Address: ${device.mac}\nIP Address: ${device.ip}\nHostname: ${device.hostname}\nStatus: ${device.unifi.authkey ? "Connected" : "Not Adopted"}`,
        ok: true,
      };
    case "ifconfig":
      return {
        output: device.interfaces
          .map(
            (i) =>
              `${i.name.padEnd(10)}Link encap:Ethernet  HWaddr ${i.mac.toUpperCase()}\n          ${i.up ? "UP " : ""}BROADCAST RUNNING MULTICAST\n          RX bytes:${i.rxBytes}  TX bytes:${i.txBytes}`,
          )
          .join("\n\n"),
        ok: true,
      };
    case "set-inform":
      if (!args[0] || !/^https?:\/\//.test(args[0]))
        return { output: "usage: set-inform <http://host:port/inform>", ok: false };
      device.unifi.informUrl = args[0].slice(0, 256);
      return { output: `Adoption request sent to '${device.unifi.informUrl}'.`, ok: true };
    case "syswrapper.sh":
    case "/usr/bin/syswrapper.sh":
      if (
        args[0] !== "set-adopt" ||
        !args[1] ||
        !/^https?:\/\//.test(args[1]) ||
        !/^[0-9a-f]{32}$/.test(args[2] ?? "")
      ) {
        return { output: "usage: syswrapper.sh set-adopt <url> <authkey>", ok: false };
      }
      device.unifi.informUrl = args[1].slice(0, 256);
      device.unifi.authkey = args[2];
      return { output: "", ok: true };
    case "reboot":
      return { output: "Rebooting...", ok: true, reboot: true };
    case "exit":
    case "logout":
      return { output: "", ok: true, exit: true };
    default:
      return { output: `-sh: ${cmd.slice(0, 32)}: not found`, ok: false };
  }
}
