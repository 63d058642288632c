// Package schema holds the one record schema of cflens: the columns that the
// parser builds, the Parquet store writes, the analyzer reads and the Athena
// DDL declares. Names, Arrow types and Athena types all come from the list in
// this file, so they cannot drift apart.
package schema

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the logical type of a column.
type Kind uint8

const (
	String     Kind = iota // UTF-8, high cardinality
	DictString             // UTF-8, dictionary-encoded (low cardinality)
	Int32
	Int64
	Float64
	Date      // days since the epoch
	Timestamp // UTC, milliseconds
)

// Column indexes, in schema order. Index i for 1 ≤ i ≤ 35 is also the
// 1-based position of that field in the canonical legacy log order.
const (
	Timestamp_ = iota // computed: date + time, or timestamp(ms)
	Date_
	Time
	EdgeLocation
	ScBytes
	CIP
	CsMethod
	CsHost
	CsURIStem
	ScStatus
	CsReferer
	CsUserAgent
	CsURIQuery
	CsCookie
	EdgeResultType
	EdgeRequestID
	HostHeader
	CsProtocol
	CsBytes
	TimeTaken
	ForwardedFor
	SSLProtocol
	SSLCipher
	EdgeResponseResultType
	CsProtocolVersion
	FLEStatus
	FLEEncryptedFields
	CPort
	TimeToFirstByte
	EdgeDetailedResultType
	ScContentType
	ScContentLen
	ScRangeStart
	ScRangeEnd
	DistributionTenantID
	ConnectionID
	// Fields that only standard logging v2 writes.
	CCountry
	ASN
	OriginFBL
	OriginLBL
	CacheBehaviorPathPattern
	// Columns that cflens adds.
	DistributionID
	Role
	Source
	Line

	NumColumns
)

// NumLegacyFields is the number of fields in the canonical legacy order
// (the newest reference lists 35; files have carried 12 to 35 of them).
const NumLegacyFields = ConnectionID

// Column describes one column of the record schema.
type Column struct {
	// LogName is the field name as CloudFront writes it in #Fields and as
	// v2 JSON keys, e.g. "cs(User-Agent)". Empty for added columns.
	LogName string
	// Name is the column name: LogName lower-cased, "-" and "(" turned
	// into "_", ")" dropped, as in AWS's own Athena tables.
	Name string
	Kind Kind
}

var columns = withNames([NumColumns]Column{
	Timestamp_:               {"", "timestamp", Timestamp},
	Date_:                    {"date", "date", Date},
	Time:                     {"time", "time", String},
	EdgeLocation:             {"x-edge-location", "", DictString},
	ScBytes:                  {"sc-bytes", "", Int64},
	CIP:                      {"c-ip", "", String},
	CsMethod:                 {"cs-method", "", DictString},
	CsHost:                   {"cs(Host)", "", DictString},
	CsURIStem:                {"cs-uri-stem", "", String},
	ScStatus:                 {"sc-status", "", Int32},
	CsReferer:                {"cs(Referer)", "", String},
	CsUserAgent:              {"cs(User-Agent)", "", String},
	CsURIQuery:               {"cs-uri-query", "", String},
	CsCookie:                 {"cs(Cookie)", "", String},
	EdgeResultType:           {"x-edge-result-type", "", DictString},
	EdgeRequestID:            {"x-edge-request-id", "", String},
	HostHeader:               {"x-host-header", "", DictString},
	CsProtocol:               {"cs-protocol", "", DictString},
	CsBytes:                  {"cs-bytes", "", Int64},
	TimeTaken:                {"time-taken", "", Float64},
	ForwardedFor:             {"x-forwarded-for", "", String},
	SSLProtocol:              {"ssl-protocol", "", DictString},
	SSLCipher:                {"ssl-cipher", "", DictString},
	EdgeResponseResultType:   {"x-edge-response-result-type", "", DictString},
	CsProtocolVersion:        {"cs-protocol-version", "", DictString},
	FLEStatus:                {"fle-status", "", DictString},
	FLEEncryptedFields:       {"fle-encrypted-fields", "", Int32},
	CPort:                    {"c-port", "", Int32},
	TimeToFirstByte:          {"time-to-first-byte", "", Float64},
	EdgeDetailedResultType:   {"x-edge-detailed-result-type", "", DictString},
	ScContentType:            {"sc-content-type", "", DictString},
	ScContentLen:             {"sc-content-len", "", Int64},
	ScRangeStart:             {"sc-range-start", "", Int64},
	ScRangeEnd:               {"sc-range-end", "", Int64},
	DistributionTenantID:     {"distribution-tenant-id", "", DictString},
	ConnectionID:             {"connection-id", "", String},
	CCountry:                 {"c-country", "", DictString},
	ASN:                      {"asn", "", Int64},
	OriginFBL:                {"origin-fbl", "", Float64},
	OriginLBL:                {"origin-lbl", "", Float64},
	CacheBehaviorPathPattern: {"cache-behavior-path-pattern", "", DictString},
	DistributionID:           {"", "distribution_id", DictString},
	Role:                     {"", "role", DictString},
	Source:                   {"", "source", DictString},
	Line:                     {"", "line", Int64},
})

// withNames fills in the column names derived from the log names.
func withNames(cs [NumColumns]Column) [NumColumns]Column {
	for i := range cs {
		if cs[i].Name == "" {
			cs[i].Name = ColumnName(cs[i].LogName)
		}
	}
	return cs
}

// Log field names that do not get a column of their own but feed the
// computed timestamp column.
const (
	LogTimestampMS = "timestamp(ms)" // v2: epoch milliseconds
	LogTimestamp   = "timestamp"     // v2: epoch seconds
)

// ColumnName turns a log field name into its column name:
// "cs(User-Agent)" → "cs_user_agent", "x-edge-result-type" → "x_edge_result_type".
func ColumnName(logName string) string {
	var b strings.Builder
	b.Grow(len(logName))
	for i := 0; i < len(logName); i++ {
		c := logName[i]
		switch {
		case c == '-' || c == '(':
			b.WriteByte('_')
		case c == ')':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Columns returns the schema's columns in order.
func Columns() []Column { return columns[:] }

// Col returns column i.
func Col(i int) Column { return columns[i] }

// Lookup finds the column for a field name as it appears in a #Fields
// header, a v2 JSON key or a v2 Parquet column name ("cs(Host)", "cs_host",
// "cs_Host"), ignoring case. It returns -1 for fields the schema does not
// know, and for the names that feed the timestamp (see IsTimestampField).
func Lookup(name string) int {
	if i, ok := byName[strings.ToLower(name)]; ok {
		return i
	}
	return -1
}

// IsTimestampField reports whether name is one of the v2 epoch fields
// that feed the computed timestamp column, and whether it is in
// milliseconds.
func IsTimestampField(name string) (ok, millis bool) {
	switch strings.ToLower(name) {
	case LogTimestampMS, "timestamp_ms":
		return true, true
	case LogTimestamp:
		return true, false
	}
	return false, false
}

var byName = func() map[string]int {
	m := make(map[string]int, 2*NumColumns)
	for i, c := range columns {
		if c.LogName == "" {
			continue // added and computed columns are not log fields
		}
		m[strings.ToLower(c.LogName)] = i
		m[ColumnName(c.LogName)] = i
	}
	return m
}()

// LegacyOrder returns the canonical legacy field order: the order that
// files without a #Fields header follow, cut to their field count.
func LegacyOrder() []int {
	order := make([]int, NumLegacyFields)
	for i := range order {
		order[i] = i + 1
	}
	return order
}

// ArrowType returns the Arrow type of a kind.
func ArrowType(k Kind) arrow.DataType {
	switch k {
	case DictString:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	default:
		return arrow.BinaryTypes.String
	}
}

// AthenaType returns the Athena (Hive DDL) type of a kind.
func AthenaType(k Kind) string {
	switch k {
	case Int32:
		return "int"
	case Int64:
		return "bigint"
	case Float64:
		return "double"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp"
	default:
		return "string"
	}
}

var arrowSchema = func() *arrow.Schema {
	fs := make([]arrow.Field, NumColumns)
	for i, c := range columns {
		fs[i] = arrow.Field{Name: c.Name, Type: ArrowType(c.Kind), Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}()

// Arrow returns the Arrow schema of a full record batch.
func Arrow() *arrow.Schema { return arrowSchema }

// Index returns the index of the column with the given column name, or -1.
func Index(name string) int {
	for i, c := range columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Roles of a distribution.
const (
	RoleProduction = "production"
	RoleStaging    = "staging"
)

// MaxDistributionIDLen is the longest distribution ID accepted: E and 20
// letters or digits.
const MaxDistributionIDLen = 21

// IsDistributionID reports whether s is a CloudFront distribution ID: an E
// followed by 1 to 20 upper-case letters and digits. This is the one rule
// every reader of IDs (flags, config files, object keys, v2 folder names,
// the log generator) applies. Real IDs are E and 12 to 14 characters; the
// rule is looser so that short test IDs (E1, EPROD) stay valid, and strict
// enough that an ID is always safe to print and to use as a folder name.
func IsDistributionID(s string) bool {
	if len(s) < 2 || len(s) > MaxDistributionIDLen || s[0] != 'E' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
