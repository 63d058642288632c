// Parses every SQL statement cflens ships, as rendered by render/main.go
// into the folder given as the first argument, with an independent
// parser: DTStack's dt-sql-parser, Trino's grammar for the queries
// (Athena engine v3 runs them) and Hive's for the DDL (Athena runs DDL
// in Hive's dialect). A statement the grammar rejects fails the check,
// so that nothing only DuckDB accepts slips into what Athena runs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrinoSQL, HiveSQL } from 'dt-sql-parser';

const dir = process.argv[2];
if (!dir) {
	console.error('usage: node check.mjs DIR');
	process.exit(2);
}
const parsers = { trino: new TrinoSQL(), hive: new HiveSQL() };
let passed = 0;
let failed = 0;
for (const name of readdirSync(dir).sort()) {
	// Files are named <statement>.<dialect>.sql.
	const m = name.match(/^(.+)\.(trino|hive)\.sql$/);
	if (!m) continue;
	const sql = readFileSync(join(dir, name), 'utf8');
	const errors = parsers[m[2]].validate(sql);
	if (errors.length === 0) {
		passed++;
		continue;
	}
	failed++;
	console.log(`FAIL ${m[1]} (${m[2]} grammar):`);
	for (const e of errors) {
		console.log(`  line ${e.startLine}:${e.startColumn}: ${e.message}`);
	}
}
if (passed + failed === 0) {
	console.log('no statements found in ' + dir);
	process.exit(1);
}
console.log(`sqlcheck: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
