import { veilConfig } from "@veil/eslint-config";
export default veilConfig({ tsconfigRootDir: import.meta.dirname });
