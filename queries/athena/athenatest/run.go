package athenatest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// table is a table declared with CREATE EXTERNAL TABLE.
type table struct {
	db, name   string
	cols       []column // data columns, Hive types
	parts      []column // partition columns
	location   string   // s3://bucket/prefix/
	parquet    bool     // STORED AS PARQUET; else delimited text
	delim      string
	skipHeader int
}

var (
	createRe   = regexp.MustCompile("(?is)^\\s*CREATE\\s+EXTERNAL\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?([`\"\\w.]+)\\s*\\(")
	locationRe = regexp.MustCompile(`(?is)\bLOCATION\s+'([^']*)'`)
	partRe     = regexp.MustCompile(`(?is)\bPARTITIONED\s+BY\s*\(`)
	delimRe    = regexp.MustCompile(`(?is)FIELDS\s+TERMINATED\s+BY\s+'([^']*)'`)
	skipRe     = regexp.MustCompile(`(?is)'skip\.header\.line\.count'\s*=\s*'(\d+)'`)
	insertRe   = regexp.MustCompile("(?is)^\\s*INSERT\\s+INTO\\s+([`\"\\w.]+)\\s+(.*)$")
	createDBRe = regexp.MustCompile("(?is)^\\s*CREATE\\s+(?:DATABASE|SCHEMA)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?([`\"\\w]+)\\s*;?\\s*$")
)

// unquote strips ` and " from a possibly qualified name and splits it.
func qualified(name, defaultDB string) (db, tbl string) {
	name = strings.NewReplacer("`", "", `"`, "").Replace(name)
	if d, t, ok := strings.Cut(name, "."); ok {
		return strings.ToLower(d), strings.ToLower(t)
	}
	return strings.ToLower(defaultDB), strings.ToLower(name)
}

// parenBody returns the text inside the parenthesis that opens at
// s[open], and the index after its close.
func parenBody(s string, open int) (string, int, error) {
	depth := 0
	inStr := false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return s[open+1 : i], i + 1, nil
			}
		}
	}
	return "", 0, errors.New("unbalanced parentheses")
}

// columns parses "`a` string, `b` int" (one per line or not).
func columns(body string) ([]column, error) {
	var out []column
	for _, part := range strings.Split(body, ",") {
		f := strings.Fields(strings.TrimSpace(part))
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("column %q has no type", part)
		}
		out = append(out, column{Name: strings.ToLower(strings.Trim(f[0], "`\"")), Type: strings.ToLower(f[1])})
	}
	return out, nil
}

func parseCreate(sql, defaultDB string) (*table, error) {
	sql = stripComments(sql)
	m := createRe.FindStringSubmatchIndex(sql)
	if m == nil {
		return nil, errors.New("line 1:1: mismatched input: not a CREATE EXTERNAL TABLE statement")
	}
	t := &table{}
	t.db, t.name = qualified(sql[m[2]:m[3]], defaultDB)
	body, next, err := parenBody(sql, m[1]-1)
	if err != nil {
		return nil, err
	}
	if t.cols, err = columns(body); err != nil {
		return nil, err
	}
	rest := sql[next:]
	if pm := partRe.FindStringIndex(rest); pm != nil {
		pbody, _, err := parenBody(rest, pm[1]-1)
		if err != nil {
			return nil, err
		}
		if t.parts, err = columns(pbody); err != nil {
			return nil, err
		}
	}
	lm := locationRe.FindStringSubmatch(rest)
	if lm == nil || !strings.HasPrefix(lm[1], "s3://") {
		return nil, errors.New("the table has no s3:// LOCATION")
	}
	t.location = lm[1]
	if !strings.HasSuffix(t.location, "/") {
		t.location += "/"
	}
	t.parquet = regexp.MustCompile(`(?is)STORED\s+AS\s+PARQUET`).MatchString(rest)
	if !t.parquet {
		t.delim = "\t"
		if dm := delimRe.FindStringSubmatch(rest); dm != nil && dm[1] != `\t` {
			t.delim = dm[1]
		}
		if sm := skipRe.FindStringSubmatch(rest); sm != nil {
			t.skipHeader, _ = strconv.Atoi(sm[1])
		}
	}
	return t, nil
}

// duckType maps a Hive column type to DuckDB's.
func duckType(hive string) string {
	switch hive {
	case "string", "varchar":
		return "VARCHAR"
	case "int", "integer":
		return "INTEGER"
	case "bigint":
		return "BIGINT"
	case "smallint":
		return "SMALLINT"
	case "double":
		return "DOUBLE"
	case "float":
		return "FLOAT"
	case "timestamp":
		return "TIMESTAMP"
	case "date":
		return "DATE"
	case "boolean":
		return "BOOLEAN"
	}
	return "VARCHAR"
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// view returns the SELECT that makes a table's local copy a DuckDB
// relation with the declared columns.
func (s *Server) view(t *table) (string, error) {
	dir := filepath.ToSlash(s.tableDir(t))
	files, _ := filepath.Glob(filepath.Join(s.tableDir(t), "*"))
	all := append(append([]column(nil), t.cols...), t.parts...)
	if len(files) == 0 {
		// No objects: an empty relation of the declared columns.
		sel := make([]string, len(all))
		for i, c := range all {
			sel[i] = "CAST(NULL AS " + duckType(c.Type) + ") AS " + ident(c.Name)
		}
		if !t.parquet {
			sel = append(sel, `CAST(NULL AS VARCHAR) AS "$path"`)
		}
		return "SELECT " + strings.Join(sel, ", ") + " WHERE false", nil
	}
	if t.parquet {
		sel := make([]string, len(all))
		for i, c := range all {
			sel[i] = "CAST(" + ident(c.Name) + " AS " + duckType(c.Type) + ") AS " + ident(c.Name)
		}
		return fmt.Sprintf("SELECT %s FROM read_parquet(%s, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)",
			strings.Join(sel, ", "), lit(dir+"/**/*.parquet")), nil
	}
	if len(t.parts) > 0 {
		return "", errors.New("partitioned text tables are not served here")
	}
	// Text: every field read as text, then cast as the SerDe does.
	colSpec := make([]string, len(t.cols))
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		name := fmt.Sprintf("f%d", i)
		colSpec[i] = lit(name) + ": 'VARCHAR'"
		sel[i] = "TRY_CAST(" + name + " AS " + duckType(c.Type) + ") AS " + ident(c.Name)
	}
	bucket, prefix := splitS3(t.location)
	sel = append(sel, fmt.Sprintf(`%s || substr(filename, %d) AS "$path"`, lit("s3://"+bucket+"/"+prefix), len(dir)+2))
	return fmt.Sprintf("SELECT %s FROM read_csv(%s, delim = %s, header = false, skip = %d, quote = '', escape = '', auto_detect = false, null_padding = true, filename = true, columns = {%s})",
		strings.Join(sel, ", "), lit(dir+"/**/*"), lit(t.delim), t.skipHeader, strings.Join(colSpec, ", ")), nil
}

// prepare copies the objects of the tables a statement names and
// (re)creates their views; it returns the bytes copied.
func (s *Server) prepare(ctx context.Context, conn *sql.Conn, sqlText string) (int64, error) {
	s.mu.Lock()
	var used []*table
	lower := strings.ToLower(sqlText)
	for _, t := range s.tables {
		if strings.Contains(lower, t.name) {
			used = append(used, t)
		}
	}
	s.mu.Unlock()
	var scanned int64
	for _, t := range used {
		n, err := s.copyDown(ctx, t)
		if err != nil {
			return 0, err
		}
		scanned += n
		v, err := s.view(t)
		if err != nil {
			return 0, err
		}
		stmt := fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s; CREATE OR REPLACE VIEW %s.%s AS %s", ident(t.db), ident(t.db), ident(t.name), v)
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return 0, fmt.Errorf("view of %s.%s: %w", t.db, t.name, err)
		}
	}
	return scanned, nil
}

// run executes a statement. Statements execute one at a time: they
// share the local copies of the tables.
func (s *Server) run(ctx context.Context, q *query) error {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	text := strings.TrimRight(strings.TrimSpace(q.sql), ";")
	body := stripComments(text)
	switch {
	case createRe.MatchString(body):
		t, err := parseCreate(text, q.database)
		if err != nil {
			return err
		}
		s.mu.Lock()
		key := t.db + "." + t.name
		_, exists := s.tables[key]
		ifNotExists := regexp.MustCompile(`(?i)IF\s+NOT\s+EXISTS`).MatchString(body)
		if exists && !ifNotExists {
			s.mu.Unlock()
			return fmt.Errorf("table %s already exists", key)
		}
		if !exists {
			s.tables[key] = t
		}
		s.mu.Unlock()
		return nil
	case createDBRe.MatchString(body):
		m := createDBRe.FindStringSubmatch(body)
		db, _ := qualified(m[1], "")
		_, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(db))
		return err
	case insertRe.MatchString(body):
		return s.insert(ctx, conn, q, body)
	}
	scanned, err := s.prepare(ctx, conn, body)
	if err != nil {
		return err
	}
	q.scanned = scanned
	if _, err := conn.ExecContext(ctx, "USE "+ident(q.database)); err != nil {
		if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(q.database)+"; USE "+ident(q.database)); err != nil {
			return err
		}
	}
	rows, err := conn.QueryContext(ctx, body)
	if err != nil {
		return err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	for _, ct := range cts {
		q.cols = append(q.cols, column{Name: ct.Name(), Type: trinoType(ct.DatabaseTypeName())})
	}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]*string, len(vals))
		for i, v := range vals {
			row[i] = render(v, q.cols[i].Type)
		}
		q.rows = append(q.rows, row)
	}
	return rows.Err()
}

// trinoType names a DuckDB result type as Athena's ColumnInfo does.
func trinoType(duck string) string {
	switch d := strings.ToUpper(duck); {
	case d == "VARCHAR":
		return "varchar"
	case d == "BIGINT" || d == "HUGEINT" || d == "UBIGINT":
		return "bigint"
	case d == "INTEGER":
		return "integer"
	case d == "DOUBLE":
		return "double"
	case d == "FLOAT":
		return "real"
	case d == "BOOLEAN":
		return "boolean"
	case d == "DATE":
		return "date"
	case strings.HasPrefix(d, "TIMESTAMP"):
		return "timestamp"
	case strings.HasPrefix(d, "DECIMAL"):
		return "decimal"
	}
	return strings.ToLower(duck)
}

// render turns a DuckDB value into Athena's text form; nil is NULL.
func render(v any, typ string) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	case time.Time:
		if typ == "date" {
			s = x.UTC().Format("2006-01-02")
		} else {
			s = x.UTC().Format("2006-01-02 15:04:05.000")
		}
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'g', -1, 32)
	case *big.Int:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

// insert runs INSERT INTO a declared Parquet table: the SELECT's rows,
// positionally the table's columns then its partition columns, written
// as Parquet into Hive partition folders under the table's location.
func (s *Server) insert(ctx context.Context, conn *sql.Conn, q *query, body string) error {
	m := insertRe.FindStringSubmatch(body)
	db, name := qualified(m[1], q.database)
	s.mu.Lock()
	t := s.tables[db+"."+name]
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("table %s.%s does not exist", db, name)
	}
	if !t.parquet {
		return fmt.Errorf("INSERT INTO %s.%s: only Parquet tables are written here", db, name)
	}
	scanned, err := s.prepare(ctx, conn, m[2])
	if err != nil {
		return err
	}
	q.scanned = scanned
	all := append(append([]column(nil), t.cols...), t.parts...)
	names := make([]string, len(all))
	sel := make([]string, len(all))
	for i, c := range all {
		names[i] = ident(c.Name)
		sel[i] = "CAST(" + ident(c.Name) + " AS " + duckType(c.Type) + ") AS " + ident(c.Name)
	}
	partNames := make([]string, len(t.parts))
	for i, c := range t.parts {
		partNames[i] = ident(c.Name)
	}
	out := filepath.Join(s.dir, "insert", q.id)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	copyStmt := fmt.Sprintf("COPY (SELECT %s FROM (%s) AS q(%s)) TO %s (FORMAT parquet, COMPRESSION zstd, FILENAME_PATTERN %s",
		strings.Join(sel, ", "), m[2], strings.Join(names, ", "), lit(filepath.ToSlash(out)), lit(q.id+"_{i}"))
	if len(partNames) > 0 {
		copyStmt += ", PARTITION_BY (" + strings.Join(partNames, ", ") + ")"
	}
	copyStmt += ")"
	if _, err := conn.ExecContext(ctx, "USE "+ident(q.database)); err != nil {
		if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(q.database)+"; USE "+ident(q.database)); err != nil {
			return err
		}
	}
	var count int64
	if err := conn.QueryRowContext(ctx, copyStmt).Scan(&count); err != nil {
		return err
	}
	bucket, prefix := splitS3(t.location)
	err = filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(out, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return s.upload(ctx, bucket, prefix+filepath.ToSlash(rel), b)
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	n := strconv.FormatInt(count, 10)
	q.cols = []column{{Name: "rows", Type: "bigint"}}
	q.rows = [][]*string{{&n}}
	return os.RemoveAll(out)
}
