// The deployed functions' entry module: reads the config once, wires the cloud adapters, registers every function.
import { loadConfig } from "../schemas/load-config.ts";
import { createFunctionDeps } from "../platform/composition-root.ts";
import { registerFunctions } from "./register.ts";

// functions-framework's express app answers a body it cannot parse (invalid JSON to predict) with the parser's stack
// trace unless NODE_ENV is production; it reads NODE_ENV when it builds the app, after this module has loaded.
process.env.NODE_ENV ??= "production";

registerFunctions(createFunctionDeps(loadConfig()));
