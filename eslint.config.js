// Type-aware lint for src/, tests/, bench/, scripts/ and web/ (run by `npm test` as `npm run lint`).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "**/*.cjs", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: "./tsconfig.check.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Promises must be awaited, returned, or explicitly voided: a dropped rejection is a lost error.
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite", "before", "after", "beforeEach", "afterEach"] }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": "off",
    },
  },
  {
    // The browser app (web/) is checked against its own project: DOM types, no Node.
    files: ["web/**/*.ts"],
    languageOptions: {
      parserOptions: { project: "./web/tsconfig.json", tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // Node fires a timer set beyond 2^31 − 1 ms (24.8 days) after 1 ms: src/ uses util/timers.ts instead.
    files: ["src/**/*.ts"],
    ignores: ["src/util/timers.ts"],
    rules: {
      "no-restricted-globals": ["error", { name: "setTimeout", message: "use setLongTimeout (src/util/timers.ts): setTimeout fires at once beyond 24.8 days" }],
      "no-restricted-properties": [
        "error",
        { object: "AbortSignal", property: "timeout", message: "build the signal on setLongTimeout (src/util/timers.ts): AbortSignal.timeout fires at once beyond 24.8 days" },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON they wrote themselves (`any` from JSON.parse is fine there), and their stand-ins
    // implement async interfaces without awaiting anything.
    files: ["tests/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
