// The faults switched on in this deployment: a JSON file ({"active": [names], ...}) whose path the
// launcher puts in TESTBED_FAULTS_FILE.  Read on every request (a few microseconds from the page
// cache), so a fault switches at once without a route, a header or a restart a check could see.
import fs from "node:fs";

const NONE = Object.freeze({ active: new Set(), data: {} });

export function readFaults() {
  const file = process.env.TESTBED_FAULTS_FILE;
  if (!file) return NONE;
  try {
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    return { active: new Set(Array.isArray(data.active) ? data.active : []), data };
  } catch {
    return NONE; // the launcher replaces the file atomically; a missing file is a healthy deployment
  }
}

export function faultOn(name) {
  return readFaults().active.has(name);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
