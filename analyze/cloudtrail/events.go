package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The CloudFront API calls that change what the timeline tracks.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Operations.html
const (
	evCreateDistribution                  = "CreateDistribution"
	evCreateDistributionWithTags          = "CreateDistributionWithTags"
	evUpdateDistribution                  = "UpdateDistribution"
	evCopyDistribution                    = "CopyDistribution"
	evCreateContinuousDeploymentPolicy    = "CreateContinuousDeploymentPolicy"
	evUpdateContinuousDeploymentPolicy    = "UpdateContinuousDeploymentPolicy"
	evUpdateDistributionWithStagingConfig = "UpdateDistributionWithStagingConfig"
)

var eventNames = map[string]bool{
	evCreateDistribution:                  true,
	evCreateDistributionWithTags:          true,
	evUpdateDistribution:                  true,
	evCopyDistribution:                    true,
	evCreateContinuousDeploymentPolicy:    true,
	evUpdateContinuousDeploymentPolicy:    true,
	evUpdateDistributionWithStagingConfig: true,
}

// apiVersionSuffix is the API version that older records append to the
// event name (UpdateDistribution2014_01_31).
var apiVersionSuffix = regexp.MustCompile(`\d{4}_\d{2}_\d{2}$`)

const cloudFrontSource = "cloudfront.amazonaws.com"

// eventName returns the CloudFront operation a record is about, without an
// API version suffix, and whether the timeline uses it.
func eventName(rec *Record) (string, bool) {
	if rec.EventSource != "" && !strings.EqualFold(rec.EventSource, cloudFrontSource) {
		return "", false
	}
	name := apiVersionSuffix.ReplaceAllString(rec.EventName, "")
	return name, eventNames[name]
}

// event is one relevant API call, decoded.
type event struct {
	At   time.Time
	ID   string // eventID
	Name string
	// File and Index say where the record was read (for messages and a
	// stable order of events at the same instant).
	File  string
	Index int64

	ErrorCode    string
	ErrorMessage string

	// Distribution is the distribution the call created or changed (the
	// primary for a promotion), Domain its domain name when the response
	// tells it.
	Distribution string
	Domain       string
	// Config is the distribution's new configuration, when the call
	// carries it.
	Config *distributionConfig
	// CopiedFrom is the primary of CopyDistribution; Staging the staging
	// distribution of a promotion.
	CopiedFrom string
	Staging    string
	// Policy and PolicyConfig are the continuous deployment policy the
	// call created or changed.
	Policy       string
	PolicyConfig *policyConfig

	// Problem says why a successful call could not be used (an unknown
	// shape); empty when it could.
	Problem string
}

// distributionConfig is the part of a DistributionConfig the timeline
// needs. CloudTrail writes the keys with a lower-case first letter
// (customErrorResponses, quantity); encoding/json matches either case.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html
type distributionConfig struct {
	CustomErrorResponses *struct {
		Quantity *flexInt          `json:"quantity"`
		Items    []json.RawMessage `json:"items"`
	} `json:"customErrorResponses"`
	ContinuousDeploymentPolicyID *string `json:"continuousDeploymentPolicyId"`
	Staging                      *bool   `json:"staging"`
}

// customErrors reports whether the configuration has custom error
// responses. A configuration without the member has none: UpdateDistribution
// replaces the whole configuration.
func (c *distributionConfig) customErrors() bool {
	if c.CustomErrorResponses == nil {
		return false
	}
	if q := c.CustomErrorResponses.Quantity; q != nil {
		return *q > 0
	}
	return len(c.CustomErrorResponses.Items) > 0
}

// policyConfig is a ContinuousDeploymentPolicyConfig.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ContinuousDeploymentPolicyConfig.html
type policyConfig struct {
	StagingDistributionDNSNames *struct {
		Quantity *flexInt `json:"quantity"`
		Items    []string `json:"items"`
	} `json:"stagingDistributionDnsNames"`
	Enabled       *bool `json:"enabled"`
	TrafficConfig *struct {
		Type               string `json:"type"`
		SingleWeightConfig *struct {
			Weight                  *flexFloat      `json:"weight"`
			SessionStickinessConfig json.RawMessage `json:"sessionStickinessConfig"`
		} `json:"singleWeightConfig"`
		SingleHeaderConfig json.RawMessage `json:"singleHeaderConfig"`
	} `json:"trafficConfig"`
}

func (p *policyConfig) dnsNames() []string {
	if p.StagingDistributionDNSNames == nil {
		return nil
	}
	return p.StagingDistributionDNSNames.Items
}

// flexInt is a JSON number, or a string holding one.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("quantity %s is not an integer", b)
	}
	*n = flexInt(v)
	return nil
}

// flexFloat is a JSON number, or a string holding one.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number %s is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}

// The shapes of requestParameters and responseElements, per operation.
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html and
// the pages of the other operations.
type (
	distributionParams struct {
		ID                 string              `json:"id"`
		DistributionConfig *distributionConfig `json:"distributionConfig"`
		// CreateDistributionWithTags wraps the configuration.
		DistributionConfigWithTags *struct {
			DistributionConfig *distributionConfig `json:"distributionConfig"`
		} `json:"distributionConfigWithTags"`
		// CopyDistribution.
		PrimaryDistributionID string `json:"primaryDistributionId"`
		Staging               *bool  `json:"staging"`
		// UpdateDistributionWithStagingConfig.
		StagingDistributionID string `json:"stagingDistributionId"`
	}
	distributionResponse struct {
		Distribution *struct {
			ID                 string              `json:"id"`
			DomainName         string              `json:"domainName"`
			DistributionConfig *distributionConfig `json:"distributionConfig"`
		} `json:"distribution"`
	}
	policyParams struct {
		ID                               string        `json:"id"`
		ContinuousDeploymentPolicyConfig *policyConfig `json:"continuousDeploymentPolicyConfig"`
	}
	policyResponse struct {
		ContinuousDeploymentPolicy *struct {
			ID                               string        `json:"id"`
			ContinuousDeploymentPolicyConfig *policyConfig `json:"continuousDeploymentPolicyConfig"`
		} `json:"continuousDeploymentPolicy"`
	}
)

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// decodeRequest decodes the request parameters of rec into p. When they
// are missing or of another shape it says why in ev.Problem and returns
// false.
func decodeRequest(rec *Record, ev *event, p any) bool {
	if isNull(rec.RequestParameters) {
		ev.Problem = "no requestParameters"
		return false
	}
	if err := json.Unmarshal(rec.RequestParameters, p); err != nil {
		ev.Problem = "requestParameters: " + err.Error()
		return false
	}
	return true
}

// decodeEvent decodes a record of one of the operations in eventNames.
// Records whose time cannot be read return an error; records whose
// parameters do not have the documented shape come back with Problem set.
func decodeEvent(rec *Record, name, file string, index int64) (event, error) {
	ev := event{
		ID:           rec.EventID,
		Name:         name,
		File:         file,
		Index:        index,
		ErrorCode:    rec.ErrorCode,
		ErrorMessage: rec.ErrorMessage,
	}
	at, err := time.Parse(time.RFC3339Nano, rec.EventTime)
	if err != nil {
		return ev, fmt.Errorf("event %s: bad eventTime %q", rec.EventID, rec.EventTime)
	}
	ev.At = at.UTC()
	if ev.ID == "" {
		// Without an ID the event cannot be told from a second delivery
		// of itself; a digest of its content does the job.
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%s", rec.EventTime, name, rec.RequestParameters)
		ev.ID = fmt.Sprintf("noid-%016x", h.Sum64())
	}
	switch name {
	case evCreateContinuousDeploymentPolicy, evUpdateContinuousDeploymentPolicy:
		decodePolicyEvent(rec, &ev)
	default:
		decodeDistributionEvent(rec, &ev)
	}
	return ev, nil
}

func decodeDistributionEvent(rec *Record, ev *event) {
	var p distributionParams
	if !decodeRequest(rec, ev, &p) {
		return
	}
	var resp distributionResponse
	if !isNull(rec.ResponseElements) {
		// A response of another shape only loses the domain name.
		_ = json.Unmarshal(rec.ResponseElements, &resp)
	}
	if d := resp.Distribution; d != nil {
		ev.Domain = d.DomainName
	}
	switch ev.Name {
	case evUpdateDistribution:
		ev.Distribution = p.ID
		ev.Config = p.DistributionConfig
		switch {
		case ev.Distribution == "":
			ev.Problem = "no id in requestParameters"
		case ev.Config == nil && ev.ErrorCode == "":
			ev.Problem = "no distributionConfig in requestParameters"
		}
	case evCreateDistribution, evCreateDistributionWithTags:
		ev.Config = p.DistributionConfig
		if ev.Config == nil && p.DistributionConfigWithTags != nil {
			ev.Config = p.DistributionConfigWithTags.DistributionConfig
		}
		if d := resp.Distribution; d != nil {
			ev.Distribution = d.ID
		}
		switch {
		case ev.ErrorCode != "":
		case ev.Distribution == "":
			ev.Problem = "no distribution id in responseElements"
		case ev.Config == nil:
			ev.Problem = "no distributionConfig in requestParameters"
		}
	case evCopyDistribution:
		ev.CopiedFrom = p.PrimaryDistributionID
		if d := resp.Distribution; d != nil {
			ev.Distribution = d.ID
			ev.Config = d.DistributionConfig
		}
		switch {
		case ev.ErrorCode != "":
		case ev.CopiedFrom == "":
			ev.Problem = "no primaryDistributionId in requestParameters"
		case ev.Distribution == "":
			ev.Problem = "no distribution id in responseElements"
		}
	case evUpdateDistributionWithStagingConfig:
		ev.Distribution = p.ID
		ev.Staging = p.StagingDistributionID
		if d := resp.Distribution; d != nil && (d.ID == "" || d.ID == p.ID) {
			ev.Config = d.DistributionConfig
		}
		if ev.Distribution == "" || ev.Staging == "" {
			ev.Problem = "no id or stagingDistributionId in requestParameters"
		}
	}
}

func decodePolicyEvent(rec *Record, ev *event) {
	var p policyParams
	if !decodeRequest(rec, ev, &p) {
		return
	}
	ev.Policy = p.ID
	ev.PolicyConfig = p.ContinuousDeploymentPolicyConfig
	if ev.Policy == "" && !isNull(rec.ResponseElements) {
		var resp policyResponse
		if json.Unmarshal(rec.ResponseElements, &resp) == nil && resp.ContinuousDeploymentPolicy != nil {
			ev.Policy = resp.ContinuousDeploymentPolicy.ID
			if ev.PolicyConfig == nil {
				ev.PolicyConfig = resp.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig
			}
		}
	}
	if ev.ErrorCode != "" {
		return
	}
	switch {
	case ev.PolicyConfig == nil:
		ev.Problem = "no continuousDeploymentPolicyConfig in requestParameters"
	case ev.Name == evUpdateContinuousDeploymentPolicy && ev.Policy == "":
		ev.Problem = "no id in requestParameters"
	}
}
