package athenatest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2" // the engine behind the endpoint
)

// Server is the Athena endpoint.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL string

	s3   *s3.Client
	db   *sql.DB
	dir  string
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	// execMu serializes execution (see run).
	execMu sync.Mutex

	mu        sync.Mutex
	seq       int
	queries   map[string]*query
	tables    map[string]*table // by "db.table", lower case
	fails     []fail
	throttle  map[string]int // operation → calls still to throttle
	hold      chan struct{}  // nil: statements run at once
	calls     map[string]int
	throttled map[string]int
	stopped   []string
	running   int
	peak      int
}

type fail struct{ marker, reason string }

type query struct {
	id, sql, database, output, stmtType string
	state, reason                       string
	submitted, done                     time.Time
	scanned                             int64
	engineMS                            int64
	cols                                []column
	rows                                [][]*string
	cancel                              context.CancelFunc
}

type column struct{ Name, Type string }

// Start runs an endpoint over the S3 server behind client and stops it
// when the test ends.
func Start(t testing.TB, client *s3.Client) *Server {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	// One connection: views and settings are per database, and DuckDB
	// runs one statement's work in parallel anyway.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatalf("duckdb: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		s3: client, db: db, dir: t.TempDir(), ctx: ctx, stop: cancel,
		queries: map[string]*query{}, tables: map[string]*table{},
		throttle: map[string]int{}, calls: map[string]int{}, throttled: map[string]int{},
	}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = hs.URL
	t.Cleanup(func() {
		hs.Close()
		cancel()
		s.wg.Wait()
		db.Close()
	})
	return s
}

// Fail makes every statement whose text contains marker end FAILED with
// reason, as Athena reports a query error.
func (s *Server) Fail(marker, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, fail{marker, reason})
}

// Throttle answers the next n calls of operation (e.g.
// "StartQueryExecution") with TooManyRequestsException.
func (s *Server) Throttle(operation string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[operation] += n
}

// Hold keeps every statement submitted from now on RUNNING, without
// executing it, until release is called or the statement is stopped.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.hold = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Calls returns how many calls of operation the endpoint received,
// throttled ones included.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// Throttled returns how many calls of operation were throttled.
func (s *Server) Throttled(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled[operation]
}

// Stopped returns the IDs of the queries stopped by StopQueryExecution
// while they were queued or running, in the order of the calls.
func (s *Server) Stopped() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stopped...)
}

// Running returns how many queries are queued or running.
func (s *Server) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// PeakRunning returns the most queries that were queued or running at
// once.
func (s *Server) PeakRunning() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// State returns the state of a query (QUEUED, RUNNING, SUCCEEDED, FAILED,
// CANCELLED), or "" for an unknown ID.
func (s *Server) State(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queries[id]; q != nil {
		return q.state
	}
	return ""
}

// apiError is an error answer of the JSON 1.1 protocol.
type apiError struct {
	status int
	code   string
	msg    string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonAthena.")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, apiError{400, "UnknownOperationException", "unknown target " + strconv.Quote(target)})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeErr(w, apiError{403, "UnrecognizedClientException", "the request is not signed"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, apiError{400, "InvalidRequestException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	if s.throttle[op] > 0 {
		s.throttle[op]--
		s.throttled[op]++
		s.mu.Unlock()
		writeErr(w, apiError{400, "TooManyRequestsException", "Rate exceeded"})
		return
	}
	s.mu.Unlock()
	var (
		out  any
		aerr *apiError
	)
	switch op {
	case "StartQueryExecution":
		out, aerr = s.startQuery(body)
	case "GetQueryExecution":
		out, aerr = s.getQuery(body)
	case "GetQueryResults":
		out, aerr = s.getResults(body)
	case "StopQueryExecution":
		out, aerr = s.stopQuery(body)
	default:
		aerr = &apiError{400, "UnknownOperationException", "operation " + op + " is not served here"}
	}
	if aerr != nil {
		writeErr(w, *aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "Message": e.msg})
}

func invalid(format string, args ...any) *apiError {
	return &apiError{400, "InvalidRequestException", fmt.Sprintf(format, args...)}
}

func (s *Server) startQuery(body []byte) (any, *apiError) {
	var in struct {
		QueryString           string
		QueryExecutionContext struct{ Database string }
		ResultConfiguration   struct{ OutputLocation string }
		WorkGroup             string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalid("%v", err)
	}
	if strings.TrimSpace(in.QueryString) == "" {
		return nil, invalid("QueryString is empty")
	}
	if in.ResultConfiguration.OutputLocation == "" {
		return nil, invalid("no output location: set one in the request or the workgroup")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	ctx, cancel := context.WithCancel(s.ctx)
	q := &query{
		id:  fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq),
		sql: in.QueryString, database: in.QueryExecutionContext.Database, output: in.ResultConfiguration.OutputLocation,
		stmtType: statementType(in.QueryString), state: "QUEUED", submitted: time.Now(), cancel: cancel,
	}
	if q.database == "" {
		q.database = "default"
	}
	s.queries[q.id] = q
	s.running++
	s.peak = max(s.peak, s.running)
	hold := s.hold
	s.wg.Add(1)
	go s.execute(ctx, q, hold)
	return map[string]string{"QueryExecutionId": q.id}, nil
}

// statementType classifies a statement as Athena does.
func statementType(sql string) string {
	f := strings.Fields(strings.ToUpper(stripComments(sql)))
	if len(f) == 0 {
		return "UTILITY"
	}
	switch f[0] {
	case "SELECT", "WITH", "INSERT", "VALUES":
		return "DML"
	case "CREATE", "DROP", "ALTER", "MSCK":
		return "DDL"
	}
	return "UTILITY"
}

// stripComments removes -- line comments.
func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// execute runs a query to its end.
func (s *Server) execute(ctx context.Context, q *query, hold chan struct{}) {
	defer s.wg.Done()
	s.setState(q, "RUNNING", "")
	if hold != nil {
		select {
		case <-ctx.Done():
			return // stopped: the state was set by StopQueryExecution
		case <-hold:
		}
	}
	s.mu.Lock()
	var failure string
	for _, f := range s.fails {
		if strings.Contains(q.sql, f.marker) {
			failure = f.reason
		}
	}
	s.mu.Unlock()
	if failure != "" {
		s.finish(q, "FAILED", failure)
		return
	}
	start := time.Now()
	err := s.run(ctx, q)
	q.engineMS = time.Since(start).Milliseconds()
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.finish(q, "FAILED", err.Error())
		return
	}
	if err := s.writeResult(ctx, q); err != nil {
		s.finish(q, "FAILED", "write the result: "+err.Error())
		return
	}
	s.finish(q, "SUCCEEDED", "")
}

func (s *Server) setState(q *query, state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.state == "CANCELLED" {
		return
	}
	q.state, q.reason = state, reason
}

func (s *Server) finish(q *query, state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.state == "CANCELLED" {
		return
	}
	q.state, q.reason, q.done = state, reason, time.Now()
	s.running--
}

func (s *Server) lookup(body []byte) (*query, *apiError) {
	var in struct{ QueryExecutionId string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalid("%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[in.QueryExecutionId]
	if q == nil {
		return nil, invalid("QueryExecution %s was not found", in.QueryExecutionId)
	}
	return q, nil
}

func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixMilli()) / 1000
}

func (s *Server) getQuery(body []byte) (any, *apiError) {
	q, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status := map[string]any{"State": q.state, "SubmissionDateTime": epoch(q.submitted)}
	if !q.done.IsZero() {
		status["CompletionDateTime"] = epoch(q.done)
	}
	if q.reason != "" {
		status["StateChangeReason"] = q.reason
	}
	if q.state == "FAILED" {
		status["AthenaError"] = map[string]any{"ErrorCategory": 2, "ErrorType": 1100, "Retryable": false, "ErrorMessage": q.reason}
	}
	return map[string]any{"QueryExecution": map[string]any{
		"QueryExecutionId":      q.id,
		"Query":                 q.sql,
		"StatementType":         q.stmtType,
		"QueryExecutionContext": map[string]string{"Database": q.database},
		"ResultConfiguration":   map[string]string{"OutputLocation": q.output + q.id + ".csv"},
		"Status":                status,
		"Statistics": map[string]any{
			"DataScannedInBytes":          q.scanned,
			"EngineExecutionTimeInMillis": q.engineMS,
			"TotalExecutionTimeInMillis":  max(q.engineMS, q.done.Sub(q.submitted).Milliseconds()),
		},
		"WorkGroup": "primary",
	}}, nil
}

func (s *Server) getResults(body []byte) (any, *apiError) {
	q, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	var in struct {
		NextToken  string
		MaxResults int
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	state := q.state
	s.mu.Unlock()
	if state != "SUCCEEDED" {
		return nil, invalid("Query has not yet finished. Current state: %s", state)
	}
	if in.MaxResults <= 0 || in.MaxResults > 1000 {
		in.MaxResults = 1000
	}
	// Rows of the result, with the header row first for DML, as Athena
	// pages them.
	all := q.rows
	if q.stmtType == "DML" {
		hdr := make([]*string, len(q.cols))
		for i, c := range q.cols {
			hdr[i] = aws.String(c.Name)
		}
		all = append([][]*string{hdr}, q.rows...)
	}
	off := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(all) {
			return nil, invalid("bad NextToken")
		}
		off = n
	}
	end := min(off+in.MaxResults, len(all))
	rows := make([]map[string]any, 0, end-off)
	for _, r := range all[off:end] {
		data := make([]map[string]any, len(r))
		for i, v := range r {
			data[i] = map[string]any{}
			if v != nil {
				data[i]["VarCharValue"] = *v
			}
		}
		rows = append(rows, map[string]any{"Data": data})
	}
	cols := make([]map[string]any, len(q.cols))
	for i, c := range q.cols {
		cols[i] = map[string]any{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name, "Label": c.Name,
			"Type": c.Type, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": c.Type == "varchar"}
	}
	out := map[string]any{"UpdateCount": 0, "ResultSet": map[string]any{"Rows": rows, "ResultSetMetadata": map[string]any{"ColumnInfo": cols}}}
	if end < len(all) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (s *Server) stopQuery(body []byte) (any, *apiError) {
	q, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.state == "QUEUED" || q.state == "RUNNING" {
		q.state, q.reason, q.done = "CANCELLED", "Query cancelled by user", time.Now()
		s.running--
		s.stopped = append(s.stopped, q.id)
		q.cancel()
	}
	return map[string]any{}, nil
}

// tableDir is the local copy of a table's objects.
func (s *Server) tableDir(t *table) string {
	return filepath.Join(s.dir, "tables", t.db+"."+t.name)
}

// copyDown copies the objects under a table's location to its local
// folder, replacing what was there, and returns their total size.
func (s *Server) copyDown(ctx context.Context, t *table) (int64, error) {
	dir := s.tableDir(t)
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	bucket, prefix := splitS3(t.location)
	var total int64
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			rel := strings.TrimPrefix(key, prefix)
			if rel == "" || strings.HasSuffix(rel, "/") || hidden(rel) {
				continue
			}
			if err := s.download(ctx, bucket, key, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				return 0, err
			}
			total += aws.ToInt64(o.Size)
		}
	}
	return total, nil
}

// hidden reports whether a relative key has a path element starting
// with "_" or ".", which Athena and Hive skip.
func hidden(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasPrefix(e, "_") || strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

func (s *Server) download(ctx context.Context, bucket, key, path string) error {
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return f.Close()
}

func (s *Server) upload(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(body))})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// splitS3 splits s3://bucket/prefix/ into bucket and prefix.
func splitS3(u string) (bucket, prefix string) {
	rest := strings.TrimPrefix(u, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix
}

// writeResult writes the result CSV and its metadata to the output
// location, as Athena does.
func (s *Server) writeResult(ctx context.Context, q *query) error {
	bucket, prefix := splitS3(q.output)
	if bucket == "" {
		return fmt.Errorf("output location %q is not s3://bucket/prefix/", q.output)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var b strings.Builder
	if len(q.cols) > 0 {
		for i, c := range q.cols {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvQuote(c.Name))
		}
		b.WriteByte('\n')
	}
	for _, r := range q.rows {
		for i, v := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if v != nil { // Athena writes NULL as an empty unquoted field
				b.WriteString(csvQuote(*v))
			}
		}
		b.WriteByte('\n')
	}
	if err := s.upload(ctx, bucket, prefix+q.id+".csv", []byte(b.String())); err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]any{"columns": q.cols, "rows": len(q.rows)})
	if err != nil {
		return err
	}
	return s.upload(ctx, bucket, prefix+q.id+".csv.metadata", meta)
}

func csvQuote(v string) string { return `"` + strings.ReplaceAll(v, `"`, `""`) + `"` }
