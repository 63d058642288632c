package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Credentials and region of the test server. They are test-only values.
const (
	AccessKey = "cflenstestaccess"
	SecretKey = "cflens-test-secret-0123456789"
	Region    = "us-east-1"
)

// BinaryEnv names the environment variable holding the versitygw path.
const BinaryEnv = "CFLENS_VERSITYGW"

// Server is a versitygw process serving a temporary folder on 127.0.0.1.
type Server struct {
	// URL is the server's endpoint, http://127.0.0.1:PORT.
	URL string
}

// Start runs versitygw for the test and stops it on cleanup. It skips the
// test when CFLENS_VERSITYGW is unset, unless CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; run .ci/install-versitygw.sh and export its output", BinaryEnv)
		}
		t.Skipf("%s is not set; run: export %s=$(.ci/install-versitygw.sh)", BinaryEnv, BinaryEnv)
	}
	var lastErr error
	for range 3 {
		s, err := start(t, bin)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string) (*Server, error) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"--port", addr, "--quiet", "posix"}
	if !userXattrs(data) {
		args = append(args, "--nometa")
	}
	args = append(args, data)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	var out syncBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	// Wait until it answers, at most 10 s.
	for i := 0; ; i++ {
		select {
		case err := <-done:
			return nil, fmt.Errorf("versitygw exited: %v: %s", err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			stop()
			return nil, fmt.Errorf("versitygw did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Server{URL: "http://" + addr}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Client returns an S3 client for endpoint (the server's URL or a proxy's)
// configured as cflens configures one for an S3-compatible store: path
// style, standard retries, request checksums only when required. The retry
// backoff is capped at 50 ms to keep tests fast. opts adjust the rest.
func Client(endpoint string, opts ...func(*s3.Options)) *s3.Client {
	o := s3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxBackoff = 50 * time.Millisecond
		}),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 256
			tr.MaxIdleConnsPerHost = 64
		}),
		DisableLogOutputChecksumValidationSkipped: true,
	}
	return s3.New(o, opts...)
}

// CreateBucket creates a bucket.
func CreateBucket(t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}

// Object is one object to upload.
type Object struct {
	Key  string
	Body []byte
}

// PutObjects uploads objects, 16 at a time, each with a CRC32 checksum so
// that GETs can validate it.
func PutObjects(t testing.TB, c *s3.Client, bucket string, objs []Object) {
	t.Helper()
	ctx := context.Background()
	sem := make(chan struct{}, 16)
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	for i, o := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket:            aws.String(bucket),
				Key:               aws.String(o.Key),
				Body:              bytes.NewReader(o.Body),
				ContentLength:     aws.Int64(int64(len(o.Body))),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			})
			if err != nil {
				errs[i] = fmt.Errorf("put %s: %w", o.Key, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
