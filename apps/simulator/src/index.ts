/**
 * @veil/simulator — thousands of simulated Ubiquiti-like devices in one process, for tests,
 * benchmarks and the demo. Start one with `startSimulator(options)`; stop it with `stop()`.
 */
export { startSimulator, type SimulatorHandle } from "./simulator";
export { ZSimulatorOptionsSchema, type SimulatorOptions, type ResolvedSimulatorOptions } from "./options";
export type { SimStats } from "./context";
export type { SimDevice } from "./device";
export { runShell, type ShellResult } from "./shell";
export { deviceMac } from "./fleet";
