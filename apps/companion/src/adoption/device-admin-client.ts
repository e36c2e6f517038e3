import { ZDeviceInfoSchema, ZDeviceLoginResponseSchema, type TDeviceJobError, type TDeviceInfo } from "../protocol";
import { CertificateChangedError, deviceRequest, DeviceUnreachableError, type DeviceEndpoint } from "./device-https";

/** A per-device failure with its stable code. */
export class DeviceJobError extends Error {
  constructor(readonly code: TDeviceJobError) {
    super(code);
    this.name = "DeviceJobError";
  }
}

function mapError(error: unknown): never {
  if (error instanceof DeviceJobError) throw error;
  if (error instanceof CertificateChangedError) throw new DeviceJobError("certificate_changed");
  if (error instanceof DeviceUnreachableError) throw new DeviceJobError("unreachable");
  throw new DeviceJobError("device_error");
}

/** GET /api/v1/info (no login) with the pin; returns the info, the raw JSON and the certificate. */
export async function fetchInfo(
  ep: DeviceEndpoint,
  pin: string | undefined,
  timeoutMs: number,
): Promise<{ info: TDeviceInfo; raw: unknown; fingerprint: string }> {
  try {
    const r = await deviceRequest(ep, pin, "GET", "/api/v1/info", undefined, undefined, timeoutMs);
    const info = ZDeviceInfoSchema.safeParse(r.json);
    if (r.status !== 200 || !info.success) throw new DeviceJobError("device_error");
    return { info: { ...info.data, mac: info.data.mac.toLowerCase() }, raw: r.json, fingerprint: r.fingerprint };
  } catch (error) {
    return mapError(error);
  }
}

/** POST /api/v1/login over the pinned connection; returns the bearer token. */
export async function login(
  ep: DeviceEndpoint,
  pin: string,
  username: string,
  password: string,
  timeoutMs: number,
): Promise<string> {
  try {
    const r = await deviceRequest(ep, pin, "POST", "/api/v1/login", { username, password }, undefined, timeoutMs);
    if (r.status === 401) throw new DeviceJobError("login_failed");
    if (r.status === 429) throw new DeviceJobError("locked_out");
    const body = ZDeviceLoginResponseSchema.safeParse(r.json);
    if (r.status !== 200 || !body.success) throw new DeviceJobError("device_error");
    return body.data.token;
  } catch (error) {
    return mapError(error);
  }
}

/** An authenticated POST over the pinned connection; any non-200 is `device_error`. */
export async function post(
  ep: DeviceEndpoint,
  pin: string,
  path: string,
  body: unknown,
  token: string,
  timeoutMs: number,
): Promise<void> {
  try {
    const r = await deviceRequest(ep, pin, "POST", path, body, token, timeoutMs);
    if (r.status !== 200) throw new DeviceJobError("device_error");
  } catch (error) {
    mapError(error);
  }
}

/** Whether the device reports more than one login account (then bulk generation skips it). */
export function hasSeveralAccounts(raw: unknown): boolean {
  const accounts = (raw as { accounts?: unknown } | null)?.accounts;
  return Array.isArray(accounts) && accounts.length > 1;
}
