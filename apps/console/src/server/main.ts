/**
 * Production/dev entry: `tsx src/server/main.ts`. Reads the environment once (src/env.ts),
 * starts the console and stops cleanly on SIGINT/SIGTERM.
 */
import { EnvError, parseEnv } from "../env";
import { configFromEnv } from "./config";
import { startConsole } from "./start-console";

async function main(): Promise<void> {
  let env;
  try {
    env = parseEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const running = await startConsole(configFromEnv(env));
  const stop = (signal: string) => {
    console.log(`${signal}: stopping the console…`);
    void running.close().then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(`The console could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
