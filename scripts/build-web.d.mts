/** Types of scripts/build-web.mjs, for the tests that build the apps themselves. */
export declare const webPages: readonly string[];
export declare const WEB_BASE: string;
export declare function buildWebApps(outDir?: string, options?: { quiet?: boolean }): Promise<string>;
