// HPKE against RFC 9180 A.2 on the node:crypto primitives.
import { nodePrimitives } from "../src/primitives/node";
import { hpkeSuite } from "./suites/hpke";

hpkeSuite(nodePrimitives);
