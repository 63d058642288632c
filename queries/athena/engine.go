package athena

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// API is the part of the Athena client that the engine calls;
// *athena.Client implements it.
type API interface {
	StartQueryExecution(context.Context, *athena.StartQueryExecutionInput, ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(context.Context, *athena.GetQueryExecutionInput, ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(context.Context, *athena.GetQueryResultsInput, ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
	StopQueryExecution(context.Context, *athena.StopQueryExecutionInput, ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
}

var _ API = (*athena.Client)(nil)

// Options configure an Engine.
type Options struct {
	// Database is the query execution context's database; Catalog its
	// data catalog (empty: Athena's default, AwsDataCatalog).
	Database, Catalog string
	// Workgroup runs the queries (empty: "primary").
	Workgroup string
	// OutputLocation is where Athena writes result files,
	// s3://bucket/prefix/. Empty leaves it to the workgroup's setting.
	OutputLocation string
	// Concurrency is how many statements run at once.
	Concurrency int
	// PollMin and PollMax bound the wait between two GetQueryExecution
	// calls of one query: it starts at PollMin and grows by half up to
	// PollMax.
	PollMin, PollMax time.Duration
	// QueryTimeout stops a query that has not finished this long after
	// it was submitted; 0 waits as long as Athena runs it.
	QueryTimeout time.Duration
	// ThrottleRetries is how many times a throttled call
	// (TooManyRequestsException) is tried again, with exponential
	// backoff from ThrottleBackoff, on top of the SDK's own retries:
	// Athena throttles StartQueryExecution for seconds at a time when
	// the account's concurrent queries are used up.
	ThrottleRetries int
	ThrottleBackoff time.Duration
	// PageRows is GetQueryResults' page size (at most 1000).
	PageRows int32
	// Logger receives the queries' progress at debug level; nil
	// discards it.
	Logger *slog.Logger
}

// DefaultOptions returns the options cflens runs with.
func DefaultOptions() Options {
	return Options{
		Workgroup:       "primary",
		Concurrency:     4,
		PollMin:         250 * time.Millisecond,
		PollMax:         5 * time.Second,
		ThrottleRetries: 8,
		ThrottleBackoff: 500 * time.Millisecond,
		PageRows:        1000,
	}
}

// Statement is one SQL statement to run, named for reports.
type Statement struct {
	Name string
	SQL  string
}

// Table is a query's result: column names and rows of string cells, as
// Athena returns them. A NULL cell is "".
type Table struct {
	Columns []string
	Rows    [][]string
}

// Execution is one finished query.
type Execution struct {
	Name string
	// ID is Athena's query execution ID.
	ID string
	// StatementType is Athena's: DDL, DML or UTILITY.
	StatementType string
	// ScannedBytes is the data Athena read (DataScannedInBytes).
	ScannedBytes int64
	// EngineTime is Athena's EngineExecutionTimeInMillis.
	EngineTime time.Duration
	// Throttled counts the calls for this query that Athena throttled
	// and the engine tried again.
	Throttled int
	// Result holds the rows; a DDL statement has none.
	Result Table
}

// Cost is the execution's price as Athena bills it (see Cost); DDL
// statements are free.
func (x Execution) Cost() float64 {
	if x.StatementType == string(types.StatementTypeDdl) {
		return 0
	}
	return Cost(x.ScannedBytes)
}

// ErrQueryTimeout marks a query stopped for running longer than
// Options.QueryTimeout.
var ErrQueryTimeout = errors.New("query timed out")

// ErrThrottled marks a call that Athena still throttled after every
// retry.
var ErrThrottled = errors.New("throttled by Athena")

// QueryError is a query that did not succeed: Athena failed or
// cancelled it, or the engine stopped it.
type QueryError struct {
	Name, ID string
	// State is Athena's final state: FAILED or CANCELLED.
	State string
	// Reason is Athena's StateChangeReason, or why the engine stopped
	// the query.
	Reason string
	// Err is ErrQueryTimeout when the engine stopped the query for
	// running too long.
	Err error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %s (%s) %s: %s", e.Name, e.ID, strings.ToLower(e.State), e.Reason)
}

func (e *QueryError) Unwrap() error { return e.Err }

// InterruptedError is returned when the caller's context ends while
// queries run: Stopped lists the IDs of the queries the engine stopped.
type InterruptedError struct {
	Stopped []string
	Err     error
}

func (e *InterruptedError) Error() string {
	if len(e.Stopped) == 0 {
		return fmt.Sprintf("interrupted before any query ran: %v", e.Err)
	}
	return fmt.Sprintf("interrupted: stopped queries %s: %v", strings.Join(e.Stopped, ", "), e.Err)
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// Engine runs statements on Athena.
type Engine struct {
	api  API
	opts Options
	log  *slog.Logger
}

// New returns an engine calling api.
func New(api API, opts Options) (*Engine, error) {
	def := DefaultOptions()
	if opts.Concurrency <= 0 {
		opts.Concurrency = def.Concurrency
	}
	if opts.PollMin <= 0 {
		opts.PollMin = def.PollMin
	}
	if opts.PollMax < opts.PollMin {
		opts.PollMax = max(def.PollMax, opts.PollMin)
	}
	if opts.ThrottleBackoff <= 0 {
		opts.ThrottleBackoff = def.ThrottleBackoff
	}
	if opts.ThrottleRetries < 0 {
		return nil, fmt.Errorf("throttle retries %d: want 0 or more", opts.ThrottleRetries)
	}
	if opts.PageRows <= 0 || opts.PageRows > 1000 {
		opts.PageRows = def.PageRows
	}
	if opts.OutputLocation != "" && !strings.HasPrefix(opts.OutputLocation, "s3://") {
		return nil, fmt.Errorf("output location %q: want s3://bucket/prefix/", opts.OutputLocation)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{api: api, opts: opts, log: log}, nil
}

// Run runs the statements, up to Options.Concurrency at once, and
// returns their executions in the order given. The first query that
// fails ends the run: the others still running are stopped. When ctx
// ends, every running query is stopped before Run returns an
// *InterruptedError wrapping ctx's error.
func (e *Engine) Run(ctx context.Context, stmts []Statement) ([]Execution, error) {
	out := make([]Execution, len(stmts))
	var (
		mu      sync.Mutex
		stopped []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Concurrency)
	for i, s := range stmts {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			x, stop, err := e.runOne(gctx, s)
			if stop != "" {
				mu.Lock()
				stopped = append(stopped, stop)
				mu.Unlock()
			}
			out[i] = x
			return err
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		slices.Sort(stopped)
		return nil, &InterruptedError{Stopped: stopped, Err: ctx.Err()}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// runOne runs one statement. stopped is the query's ID when the engine
// stopped it because ctx ended.
func (e *Engine) runOne(ctx context.Context, s Statement) (x Execution, stopped string, err error) {
	x.Name = s.Name
	in := &athena.StartQueryExecutionInput{QueryString: aws.String(s.SQL)}
	if e.opts.Workgroup != "" {
		in.WorkGroup = aws.String(e.opts.Workgroup)
	}
	if e.opts.Database != "" || e.opts.Catalog != "" {
		in.QueryExecutionContext = &types.QueryExecutionContext{}
		if e.opts.Database != "" {
			in.QueryExecutionContext.Database = aws.String(e.opts.Database)
		}
		if e.opts.Catalog != "" {
			in.QueryExecutionContext.Catalog = aws.String(e.opts.Catalog)
		}
	}
	if e.opts.OutputLocation != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(e.opts.OutputLocation)}
	}
	var started *athena.StartQueryExecutionOutput
	err = e.call(ctx, &x, func(ctx context.Context) error {
		// A start call cut short when ctx ends may have started the
		// query on Athena all the same, and its ID would be lost with
		// the answer: the query would run on, unseen and unstopped. The
		// call is left to finish (within detachedTimeout); a query started
		// after ctx ended is stopped below like any other.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), detachedTimeout)
		defer cancel()
		var err error
		started, err = e.api.StartQueryExecution(sctx, in)
		return err
	})
	if err != nil {
		return x, "", fmt.Errorf("start query %s: %w", s.Name, err)
	}
	x.ID = aws.ToString(started.QueryExecutionId)
	e.log.Debug("athena query started", "query", s.Name, "id", x.ID)
	if ctx.Err() != nil {
		e.stop(ctx, x.ID)
		return x, x.ID, ctx.Err()
	}

	qctx := ctx
	if e.opts.QueryTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, e.opts.QueryTimeout)
		defer cancel()
	}
	qe, err := e.wait(qctx, &x)
	if err != nil {
		if ctx.Err() == nil && qctx.Err() != nil {
			// The query's own deadline: stop it and say so.
			e.stop(ctx, x.ID)
			return x, "", &QueryError{Name: s.Name, ID: x.ID, State: string(types.QueryExecutionStateCancelled),
				Reason: fmt.Sprintf("still running after %s; stopped", e.opts.QueryTimeout), Err: ErrQueryTimeout}
		}
		if ctx.Err() != nil {
			e.stop(ctx, x.ID)
			return x, x.ID, ctx.Err()
		}
		return x, "", err
	}
	x.StatementType = string(qe.StatementType)
	if st := qe.Statistics; st != nil {
		x.ScannedBytes = aws.ToInt64(st.DataScannedInBytes)
		x.EngineTime = time.Duration(aws.ToInt64(st.EngineExecutionTimeInMillis)) * time.Millisecond
	}
	if state := qe.Status.State; state != types.QueryExecutionStateSucceeded {
		return x, "", &QueryError{Name: s.Name, ID: x.ID, State: string(state), Reason: reason(qe.Status)}
	}
	if x.Result, err = e.results(ctx, &x); err != nil {
		if ctx.Err() != nil {
			return x, "", ctx.Err()
		}
		return x, "", fmt.Errorf("results of query %s (%s): %w", s.Name, x.ID, err)
	}
	e.log.Debug("athena query done", "query", s.Name, "id", x.ID, "scanned_bytes", x.ScannedBytes, "rows", len(x.Result.Rows))
	return x, "", nil
}

// reason is Athena's explanation of a failed or cancelled query.
func reason(st *types.QueryExecutionStatus) string {
	var parts []string
	if r := aws.ToString(st.StateChangeReason); r != "" {
		parts = append(parts, r)
	}
	if ae := st.AthenaError; ae != nil {
		if m := aws.ToString(ae.ErrorMessage); m != "" && !slices.Contains(parts, m) {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return "Athena gave no reason"
	}
	return strings.Join(parts, "; ")
}

// wait polls the query until it ends, with growing intervals.
func (e *Engine) wait(ctx context.Context, x *Execution) (*types.QueryExecution, error) {
	delay := e.opts.PollMin
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		var out *athena.GetQueryExecutionOutput
		err := e.call(ctx, x, func(ctx context.Context) error {
			var err error
			out, err = e.api.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(x.ID)})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("poll query %s (%s): %w", x.Name, x.ID, err)
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return nil, fmt.Errorf("poll query %s (%s): no status in the answer", x.Name, x.ID)
		}
		switch qe.Status.State {
		case types.QueryExecutionStateSucceeded, types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			return qe, nil
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay+delay/2, e.opts.PollMax)
	}
}

// results pages through the query's result set.
func (e *Engine) results(ctx context.Context, x *Execution) (Table, error) {
	var (
		tbl   Table
		token *string
	)
	for page := 0; ; page++ {
		var out *athena.GetQueryResultsOutput
		err := e.call(ctx, x, func(ctx context.Context) error {
			var err error
			out, err = e.api.GetQueryResults(ctx, &athena.GetQueryResultsInput{
				QueryExecutionId: aws.String(x.ID), NextToken: token, MaxResults: aws.Int32(e.opts.PageRows)})
			return err
		})
		if err != nil {
			return tbl, err
		}
		rs := out.ResultSet
		if rs == nil {
			return tbl, errors.New("no result set in the answer")
		}
		if page == 0 && rs.ResultSetMetadata != nil {
			for _, c := range rs.ResultSetMetadata.ColumnInfo {
				tbl.Columns = append(tbl.Columns, aws.ToString(c.Name))
			}
		}
		rows := rs.Rows
		// The first row of a SELECT's first page repeats the column
		// names (Athena's documented behaviour for DML).
		if page == 0 && x.StatementType == string(types.StatementTypeDml) && len(rows) > 0 && isHeader(rows[0], tbl.Columns) {
			rows = rows[1:]
		}
		for _, r := range rows {
			cells := make([]string, len(r.Data))
			for i, d := range r.Data {
				cells[i] = aws.ToString(d.VarCharValue)
			}
			if len(tbl.Columns) > 0 && len(cells) != len(tbl.Columns) {
				return tbl, fmt.Errorf("row %d has %d cells for %d columns", len(tbl.Rows)+1, len(cells), len(tbl.Columns))
			}
			tbl.Rows = append(tbl.Rows, cells)
		}
		if token = out.NextToken; token == nil || *token == "" {
			return tbl, nil
		}
	}
}

func isHeader(r types.Row, cols []string) bool {
	if len(r.Data) != len(cols) {
		return false
	}
	for i, d := range r.Data {
		if aws.ToString(d.VarCharValue) != cols[i] {
			return false
		}
	}
	return true
}

// detachedTimeout bounds the calls that the caller's context does not
// cut short: starting a query (see runOne) and stopping one.
const detachedTimeout = 30 * time.Second

// stop asks Athena to stop a query. It runs on a context of its own:
// the caller's has usually ended.
func (e *Engine) stop(ctx context.Context, id string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), detachedTimeout)
	defer cancel()
	var x Execution
	err := e.call(sctx, &x, func(ctx context.Context) error {
		_, err := e.api.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
		return err
	})
	if err != nil {
		e.log.Warn("athena query not stopped", "id", id, "err", err)
		return
	}
	e.log.Debug("athena query stopped", "id", id)
}

// call runs fn, trying again with exponential backoff and jitter while
// Athena throttles it.
func (e *Engine) call(ctx context.Context, x *Execution, fn func(context.Context) error) error {
	delay := e.opts.ThrottleBackoff
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil || !isThrottle(err) {
			return err
		}
		if attempt == e.opts.ThrottleRetries {
			return fmt.Errorf("%w after %d tries: %w", ErrThrottled, attempt+1, err)
		}
		x.Throttled++
		wait := delay/2 + rand.N(delay/2+1)
		e.log.Debug("athena throttled the call; retrying", "query", x.Name, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// isThrottle reports whether err is Athena's TooManyRequestsException
// (or another throttling code).
func isThrottle(err error) bool {
	var tm *types.TooManyRequestsException
	if errors.As(err, &tm) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "TooManyRequestsException", "ThrottlingException", "Throttling":
			return true
		}
	}
	return false
}
