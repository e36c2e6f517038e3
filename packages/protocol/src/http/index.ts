/**
 * HTTP bodies of the console API (owned with apps/console). Every request body and query is
 * parsed with one of these before use; responses are typed by them.
 */
export * from "./common";
export * from "./accounts";
export * from "./admin";
export * from "./instances";
