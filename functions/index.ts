// The deployed functions' entry module: reads the config once, wires the cloud adapters, registers every function.
import { loadConfig } from "../schemas/load-config.ts";
import { createFunctionDeps } from "./composition-root.ts";
import { registerFunctions } from "./register.ts";

registerFunctions(createFunctionDeps(loadConfig()));
