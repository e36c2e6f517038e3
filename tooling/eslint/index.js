// Shared flat config: type-checked rules plus the dependency-direction rules of STYLE.md.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const NO_IO = [
  { name: "fs", message: "packages/crypto and packages/protocol do no I/O: pass data in." },
  { name: "node:fs", message: "packages/crypto and packages/protocol do no I/O: pass data in." },
  { name: "node:net", message: "packages/crypto and packages/protocol do no I/O." },
  { name: "node:http", message: "packages/crypto and packages/protocol do no I/O." },
  { name: "node:https", message: "packages/crypto and packages/protocol do no I/O." },
  { name: "@veil/db", message: "crypto and protocol never import the database layer." },
];
const NO_APPS = {
  group: [
    "@veil/console",
    "@veil/console/*",
    "@veil/companion",
    "@veil/companion/*",
    "@veil/simulator",
    "@veil/simulator/*",
    "**/apps/**",
  ],
  message: "Packages never import apps: dependencies point from apps to packages only.",
};

/** @param {{ tsconfigRootDir: string }} opts */
export function veilConfig({ tsconfigRootDir }) {
  return tseslint.config(
    {
      ignores: [
        "**/node_modules/**",
        "**/.next/**",
        "**/.next-*/**",
        "**/dist/**",
        "**/.turbo/**",
        "**/next-env.d.ts",
        "**/*.js",
        "**/*.mjs",
        "**/*.cjs",
      ],
    },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: { allowDefaultProject: ["*.config.ts"] }, tsconfigRootDir } },
      rules: {
        "@typescript-eslint/no-non-null-assertion": "error",
        "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
        "@typescript-eslint/no-floating-promises": "error",
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "no-restricted-syntax": [
          "error",
          {
            selector: "MemberExpression[object.name='process'][property.name='env']",
            message: "Read configuration through the app's env module (src/env.ts) only.",
          },
        ],
      },
    },
    {
      files: [
        "**/env.ts",
        "**/test/**",
        "**/tests/**",
        "**/*.test.ts",
        "**/*.test.tsx",
        "**/bench/**",
        "**/scripts/**",
        "**/*.config.ts",
      ],
      rules: { "no-restricted-syntax": "off" },
    },
    {
      files: ["packages/**", "src/**"],
      ignores: ["apps/**"],
      rules: { "no-restricted-imports": ["error", { patterns: [NO_APPS] }] },
    },
  );
}

/** Extra rules for packages that must stay pure (crypto, protocol). */
export const pureRules = {
  files: ["src/**/*.ts"],
  ignores: ["src/node.ts", "src/primitives/node.ts"],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        paths: NO_IO,
        patterns: [
          NO_APPS,
          {
            group: ["node:*"],
            message: "Universal code: only src/node.ts and src/primitives/node.ts may use node: modules.",
          },
        ],
      },
    ],
  },
};
