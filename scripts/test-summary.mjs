#!/usr/bin/env node
// Prints one plain closing line for a jest run from its JUnit report (test-reports/junit.xml):
//   <label>: N passed, N failed, N skipped
// Usage: node scripts/test-summary.mjs <label> [report]
import { readFileSync } from 'node:fs';

const [label = 'tests', report = 'test-reports/junit.xml'] = process.argv.slice(2);
const xml = readFileSync(report, 'utf8');
const count = (pattern) => (xml.match(pattern) ?? []).length;
const total = count(/<testcase\b/g);
const failed = count(/<testcase\b[^>]*>\s*<failure\b/g);
const skipped = count(/<testcase\b[^>]*>\s*<skipped\b/g);
console.log(`${label}: ${total - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
