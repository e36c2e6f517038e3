// Known-answer and Wycheproof vectors against the pure-JS primitives (runs in Node and in Chromium).
import { noblePrimitives } from "../src/primitives/noble";
import { knownAnswerSuite } from "./suites/known-answers";
import { mixedOrderSuite } from "./suites/mixed-order";
import { wycheproofSuite } from "./suites/wycheproof";

knownAnswerSuite(noblePrimitives);
wycheproofSuite(noblePrimitives);
mixedOrderSuite(noblePrimitives);
