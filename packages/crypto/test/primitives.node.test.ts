// Known-answer and Wycheproof vectors against the node:crypto primitives (Node only).
import { nodePrimitives } from "../src/primitives/node";
import { knownAnswerSuite } from "./suites/known-answers";
import { wycheproofSuite } from "./suites/wycheproof";

knownAnswerSuite(nodePrimitives);
wycheproofSuite(nodePrimitives);
