package athena

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
)

// NewClient returns the Athena client for an AWS configuration; endpoint,
// when set, replaces the regional endpoint (a VPC endpoint, or a test
// server).
func NewClient(cfg aws.Config, endpoint string) API {
	return athena.NewFromConfig(cfg, func(o *athena.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
