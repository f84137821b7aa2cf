// The ports functions and jobs depend on; adapters live in functions/adapters (Google Cloud) and emulator/embedded.
export * from "./logger.ts";
export * from "./clock.ts";
export * from "./event-bus.ts";
export * from "./object-store.ts";
export * from "./run-ledger.ts";
export * from "./job-launcher.ts";
export * from "./model-registry.ts";
export * from "./dead-letters.ts";
