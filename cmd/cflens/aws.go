package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/pflag"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/s3source"
	"github.com/cflens/cflens/ingest/s3store"
)

// awsOptions are the AWS flags. Copies share one loaded client: the AWS
// configuration is loaded once per command, however many S3 sources and
// stores it opens.
type awsOptions struct {
	profile               string
	region                string
	endpoint              string
	allowInsecureEndpoint bool

	loaded *awsClient
	// log receives what an S3 log source says as it lists; nil discards it.
	log *slog.Logger
}

// awsClient is the S3 client, loaded on first use.
type awsClient struct {
	once   sync.Once
	client *s3.Client
	err    error
}

func bindAWSFlags(fs *pflag.FlagSet, a *awsOptions) {
	a.loaded = &awsClient{}
	fs.StringVar(&a.profile, "profile", "", "AWS profile of the shared config files (default: AWS_PROFILE, else default)")
	fs.StringVar(&a.region, "region", "", "AWS region (default: AWS_REGION, else the profile's)")
	fs.StringVar(&a.endpoint, "endpoint", "", "URL of an S3-compatible store, addressed path-style (AWS_ENDPOINT_URL_S3 works too)")
	fs.BoolVar(&a.allowInsecureEndpoint, "allow-insecure-endpoint", false, "allow a plain-HTTP endpoint that is not on this machine")
}

// s3Client returns the S3 client, loading the AWS configuration on first
// use: the default credential chain, --profile, --region, standard retries.
// With a custom endpoint (--endpoint, AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL) it uses path-style addressing and computes request
// checksums only when an operation requires them, as S3-compatible stores
// expect.
func (a awsOptions) s3Client(ctx context.Context) (*s3.Client, error) {
	l := a.loaded
	if l == nil {
		l = &awsClient{}
	}
	l.once.Do(func() { l.client, l.err = loadS3Client(ctx, a, os.Getenv) })
	return l.client, l.err
}

func loadS3Client(ctx context.Context, a awsOptions, getenv func(string) string) (*s3.Client, error) {
	endpoint := a.endpoint
	if endpoint == "" {
		endpoint = getenv("AWS_ENDPOINT_URL_S3")
	}
	if endpoint == "" {
		endpoint = getenv("AWS_ENDPOINT_URL")
	}
	custom := endpoint != ""
	if custom {
		if err := checkEndpoint(endpoint, a.allowInsecureEndpoint); err != nil {
			return nil, err
		}
	}
	// The SDK's buildable client, not a plain *http.Client: the SDK adds
	// AWS_CA_BUNDLE's roots to it, and fails with any other client type.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = 64
	})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		// Standard, not adaptive: adaptive mode slows every request down
		// for long after a SlowDown burst.
		config.WithRetryMode(aws.RetryModeStandard),
		// The SDK's own log lines would go to stderr unformatted; cflens
		// reports failures itself.
		config.WithLogger(logging.Nop{}),
	}
	if a.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.profile))
	}
	if a.region != "" {
		opts = append(opts, config.WithRegion(a.region))
	}
	if custom {
		// Stores other than S3 may keep aws-chunked upload framing as
		// data when a checksum trailer is sent.
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		if !custom {
			return nil, usage.Errorf("set --region, AWS_REGION, or a region in the AWS profile", "no aws region configured")
		}
		// S3-compatible stores rarely care; the signature needs one.
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if a.endpoint != "" {
			o.BaseEndpoint = aws.String(a.endpoint)
		}
		if custom {
			o.UsePathStyle = true
		}
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// checkEndpoint accepts https endpoints, and plain http only on loopback
// unless allowInsecure: credentials are signed, not sent, but the logs
// themselves would cross the network in clear.
func checkEndpoint(endpoint string, allowInsecure bool) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return usage.Errorf("an endpoint looks like https://s3.example.com or http://127.0.0.1:9000", "endpoint %q is not a URL", endpoint)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if allowInsecure || isLoopback(u.Hostname()) {
			return nil
		}
		return usage.Errorf("use https, or --allow-insecure-endpoint to accept plain HTTP", "endpoint %s is plain HTTP and not on loopback", u.Redacted())
	default:
		return usage.Errorf("an endpoint starts with https:// or http://", "endpoint %q: scheme %q not supported", endpoint, u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newS3Source opens the S3 source at spec (s3://bucket/prefix/) for the
// distributions in ids (ID → role; empty takes every distribution found).
func newS3Source(ctx context.Context, spec string, a awsOptions, ids map[string]string) (ingest.Source, error) {
	loc, err := s3source.ParseURL(spec)
	if err != nil {
		return nil, usage.Errorf("an S3 source looks like s3://bucket/prefix/", "%w", err)
	}
	client, err := a.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	opts := s3source.DefaultOptions()
	opts.Distributions = ids
	opts.Logger = a.log
	src, err := s3source.New(client, loc, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	return src, nil
}

// newS3Store opens the object store at spec (s3://bucket/prefix/) for a
// dataset kept in S3.
func newS3Store(ctx context.Context, spec string, a awsOptions) (*s3store.Store, error) {
	loc, err := s3source.ParseURL(spec)
	if err != nil {
		return nil, usage.Errorf("an S3 dataset looks like s3://bucket/prefix/", "%w", err)
	}
	client, err := a.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	return s3store.NewStore(client, loc), nil
}
