package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go/logging"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/analyze/cloudtrail"
)

// cloudFrontAPI is the part of the CloudFront client that --current uses.
type cloudFrontAPI interface {
	GetDistributionConfig(ctx context.Context, in *cloudfront.GetDistributionConfigInput, opts ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
	GetContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.GetContinuousDeploymentPolicyInput, opts ...func(*cloudfront.Options)) (*cloudfront.GetContinuousDeploymentPolicyOutput, error)
}

var _ cloudFrontAPI = (*cloudfront.Client)(nil)

// newCloudFrontClient loads the AWS configuration for the CloudFront API:
// the default credential chain and --profile. CloudFront is a global
// service signed in us-east-1; --endpoint is for S3 and is not used.
func newCloudFrontClient(ctx context.Context, a awsOptions) (*cloudfront.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryMode(aws.RetryModeStandard),
		config.WithLogger(logging.Nop{}),
		config.WithRegion("us-east-1"),
	}
	if a.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return cloudfront.NewFromConfig(cfg), nil
}

// readCurrent reads the configuration of the two distributions and of the
// policy attached to production, as of now.
func readCurrent(ctx context.Context, api cloudFrontAPI, production, staging string, now time.Time) (cloudtrail.Current, error) {
	cur := cloudtrail.Current{At: now.UTC(), Note: "current configuration " + now.UTC().Format(time.RFC3339)}
	getConfig := func(id string) (*types.DistributionConfig, error) {
		out, err := api.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("get distribution config %s: %w", id, err)
		}
		if out.DistributionConfig == nil {
			return nil, fmt.Errorf("get distribution config %s: empty answer", id)
		}
		return out.DistributionConfig, nil
	}
	if production != "" {
		cfg, err := getConfig(production)
		if err != nil {
			return cur, err
		}
		cur.Production = aws.Bool(customErrorsOn(cfg))
		id := aws.ToString(cfg.ContinuousDeploymentPolicyId)
		if id == "" {
			cur.Policy = &analyze.PolicyChange{Enabled: aws.Bool(false)}
		} else {
			out, err := api.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(id)})
			if err != nil {
				return cur, fmt.Errorf("get continuous deployment policy %s: %w", id, err)
			}
			if out.ContinuousDeploymentPolicy == nil || out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig == nil {
				return cur, fmt.Errorf("get continuous deployment policy %s: empty answer", id)
			}
			cur.Policy = policyFromAPI(out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig)
		}
	}
	if staging != "" {
		cfg, err := getConfig(staging)
		if err != nil {
			return cur, err
		}
		cur.Staging = aws.Bool(customErrorsOn(cfg))
	}
	return cur, nil
}

func customErrorsOn(cfg *types.DistributionConfig) bool {
	c := cfg.CustomErrorResponses
	if c == nil {
		return false
	}
	if c.Quantity != nil {
		return *c.Quantity > 0
	}
	return len(c.Items) > 0
}

func policyFromAPI(c *types.ContinuousDeploymentPolicyConfig) *analyze.PolicyChange {
	p := &analyze.PolicyChange{Enabled: c.Enabled}
	tc := c.TrafficConfig
	if tc == nil {
		return p
	}
	switch tc.Type {
	case types.ContinuousDeploymentPolicyTypeSingleWeight:
		p.Type = aws.String(analyze.PolicyWeighted)
		if w := tc.SingleWeightConfig; w != nil {
			if w.Weight != nil {
				// The API gives a float32: 0.15 would come out as
				// 0.15000000596046448.
				p.Weight = aws.Float64(math.Round(float64(*w.Weight)*1e6) / 1e6)
			}
			p.Sticky = aws.Bool(w.SessionStickinessConfig != nil)
		}
	case types.ContinuousDeploymentPolicyTypeSingleHeader:
		p.Type = aws.String(analyze.PolicyHeader)
		p.Sticky = aws.Bool(false)
	}
	return p
}
