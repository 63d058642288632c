package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func responseError(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      err,
	}}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "slow down", err: &smithy.GenericAPIError{Code: "SlowDown", Fault: smithy.FaultServer}, want: true},
		{name: "internal error", err: responseError(500, &smithy.GenericAPIError{Code: "InternalError"}), want: true},
		{name: "bare 503", err: responseError(503, errors.New("no body")), want: true},
		{name: "connection reset", err: fmt.Errorf("read tcp: %w", io.ErrUnexpectedEOF), want: true},
		{name: "access denied", err: responseError(403, &smithy.GenericAPIError{Code: "AccessDenied", Fault: smithy.FaultClient})},
		{name: "no such bucket", err: &smithy.GenericAPIError{Code: "NoSuchBucket", Fault: smithy.FaultClient}},
		{name: "bare 400", err: responseError(400, errors.New("bad"))},
		{name: "missing key", err: fmt.Errorf("get: %w", fs.ErrNotExist)},
		{name: "changed", err: fmt.Errorf("get: %w", ErrChanged)},
		{name: "canceled", err: fmt.Errorf("list: %w", context.Canceled)},
		{name: "deadline", err: fmt.Errorf("list: %w", context.DeadlineExceeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAgain(t *testing.T) {
	slow := &smithy.GenericAPIError{Code: "SlowDown", Fault: smithy.FaultServer}
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Fault: smithy.FaultClient}
	tests := []struct {
		name      string
		fails     int // calls that fail before one succeeds
		err       error
		wantCalls int
		wantErr   bool
	}{
		{name: "first call", wantCalls: 1},
		{name: "passes on the last try", fails: listPageTries - 1, err: slow, wantCalls: listPageTries},
		{name: "never passes", fails: 100, err: slow, wantCalls: listPageTries, wantErr: true},
		{name: "not transient", fails: 100, err: denied, wantCalls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := again(context.Background(), func() error {
				calls++
				if calls <= tt.fails {
					return tt.err
				}
				return nil
			})
			if calls != tt.wantCalls || (err != nil) != tt.wantErr {
				t.Errorf("again: %d calls, error %v; want %d calls, error %v", calls, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
	t.Run("canceled context stops the pauses", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := again(ctx, func() error {
			calls++
			cancel()
			return slow
		})
		if calls != 1 || err == nil {
			t.Errorf("again: %d calls, error %v; want 1 call and an error", calls, err)
		}
	})
}
