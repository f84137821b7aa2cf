// Lint rules: typed linting so floating promises and misused promises are errors, not reviews; the layer rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

/** A path that climbs out of its folder into one of these top-level folders (imports are relative, as written). */
const into = (...folders) => `^(\\.\\./)+(${folders.join("|")})(/|$)`;
const TOOLS = ["cli", "deploy", "bench", "scripts", "test"];

/**
 * The layers of docs/architecture.md: what each folder may not import. Each zone's files are disjoint from the others'
 * (a later block would replace an earlier one's options), and dynamic import() is held to the same rule.
 */
const LAYERS = [
  {
    files: ["schemas/**/*.ts"],
    rules: [{ regex: "^\\.\\./", message: "schemas/ is the bottom layer: it imports nothing above it." }],
  },
  {
    files: ["events/**/*.ts"],
    rules: [{ regex: "^\\.\\./(?!schemas/)", message: "events/ imports only schemas/." }],
  },
  {
    files: ["platform/**/*.ts"],
    rules: [
      {
        regex: into("functions", "serving", "gpu-jobs", "emulator", "report", "tracking", ...TOOLS),
        message: "platform/ (ports and adapters) imports only schemas/ and events/.",
      },
    ],
  },
  {
    files: ["functions/core/**/*.ts"],
    rules: [
      {
        regex: "^(?!\\./|\\.\\./\\.\\./(schemas|events)/|zod$|node:crypto$)",
        message: "the decision core stays pure: it imports only schemas/ and events/ (and zod).",
      },
    ],
  },
  {
    files: ["functions/**/*.ts"],
    ignores: ["functions/core/**"],
    rules: [
      { regex: into("emulator"), message: "deployed code never imports emulator/ (the local stand-ins)." },
      { regex: into(...TOOLS), message: "functions/ imports no tools (cli, deploy, bench, scripts, test)." },
      {
        regex: "^(\\.\\./)+gpu-jobs/(?!specs/)",
        message: "functions/ takes only the job spec builders (gpu-jobs/specs) from the jobs.",
      },
    ],
  },
  {
    files: ["gpu-jobs/**/*.ts"],
    rules: [
      {
        regex: into("functions", "serving", "report", "tracking", ...TOOLS),
        message: "the jobs import no function, serving or tool code: only schemas/, events/ and platform/.",
      },
      { regex: into("emulator"), message: "deployed code never imports emulator/ (the local stand-ins)." },
    ],
  },
  {
    files: ["serving/**/*.ts"],
    rules: [
      {
        regex: into("functions", "report", "tracking", ...TOOLS),
        message: "serving imports no function or tool code: only schemas/, events/, platform/ and gpu-jobs/.",
      },
      { regex: into("emulator"), message: "deployed code never imports emulator/ (the local stand-ins)." },
    ],
  },
  {
    files: ["report/**/*.ts", "tracking/**/*.ts", "deploy/**/*.ts"],
    rules: [
      { regex: into("emulator"), message: "deployed code never imports emulator/ (the local stand-ins)." },
    ],
  },
];

/** The zones as lint rules: no-restricted-imports for static imports and re-exports, a selector for import(). */
const layerConfigs = LAYERS.map(({ files, ignores, rules }) => ({
  files,
  ...(ignores ? { ignores } : {}),
  rules: {
    "no-restricted-imports": ["error", { patterns: rules.map(({ regex, message }) => ({ regex, message })) }],
    "no-restricted-syntax": [
      "error",
      ...rules.map(({ regex, message }) => ({
        selector: `ImportExpression > Literal.source[value=/${regex.replaceAll("/", "\\/")}/]`,
        message,
      })),
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      ".local/",
      "coverage/",
      "gpu-jobs/trainer/",
      "**/*.js",
      "schemas/json/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  ...layerConfigs,
  {
    files: ["test/**/*.ts", "**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
);
