package cloudtrail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
)

// buildFrom writes records into one CloudTrail file and reads it with the
// production and staging IDs of the trail.
func buildFrom(t *testing.T, records ...string) (*analyze.Timeline, *Report) {
	t.Helper()
	dir := t.TempDir()
	body := `{"Records":[` + strings.Join(records, ",") + `]}`
	name := filepath.Join(dir, "111122223333_CloudTrail_us-east-1_20250910T0805Z_Ab1Cd2Ef3Gh4Ij5K.json")
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	tl, rep, err := Read(context.Background(), dirSource(t, dir), Options{Production: prodID, Staging: stagingID})
	if err != nil {
		t.Fatal(err)
	}
	return tl, rep
}

// summary writes each change on one line.
func summary(tl *analyze.Timeline) []string {
	var out []string
	for _, c := range tl.Changes {
		s := c.At.Format("15:04:05") + " " + c.Role
		if c.CustomErrorResponses != nil {
			s += fmt.Sprintf(" errors=%v", *c.CustomErrorResponses)
		}
		if p := c.ContinuousDeployment; p != nil {
			if p.Enabled != nil {
				s += fmt.Sprintf(" enabled=%v", *p.Enabled)
			}
			if p.Type != nil {
				s += " type=" + *p.Type
			}
			if p.Weight != nil {
				s += fmt.Sprintf(" weight=%v", *p.Weight)
			}
			if p.Sticky != nil {
				s += fmt.Sprintf(" sticky=%v", *p.Sticky)
			}
		}
		out = append(out, s)
	}
	return out
}

// update is an UpdateDistribution record with the given members of the
// distribution configuration.
func updateRecord(id, at, eventID, config string) string {
	return fmt.Sprintf(`{"eventVersion":"1.11","eventTime":%q,"eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution",
		"requestParameters":{"id":%q,"ifMatch":"E2QWRUHEXAMPLE","distributionConfig":{%s}},"responseElements":null,"eventID":%q}`, at, id, config, eventID)
}

func policyUpdate(at, eventID, config string) string {
	return fmt.Sprintf(`{"eventTime":%q,"eventSource":"cloudfront.amazonaws.com","eventName":"UpdateContinuousDeploymentPolicy",
		"requestParameters":{"id":%q,"continuousDeploymentPolicyConfig":{%s}},"eventID":%q}`, at, policyID, config, eventID)
}

const attach = `"continuousDeploymentPolicyId":"` + policyID + `"`

func TestEventShapes(t *testing.T) {
	tests := []struct {
		name        string
		records     []string
		want        []string
		wantUnknown int
		wantOther   int64
	}{
		{
			name:    "documented lower-case keys",
			records: []string{updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":2,"items":[{"errorCode":403},{"errorCode":404}]}`)},
			want:    []string{"08:00:00 production errors=true", "08:00:00 production enabled=false"},
		},
		{
			name: "keys as the API writes them",
			records: []string{`{"EventTime":"2025-09-10T08:00:00Z","EventSource":"cloudfront.amazonaws.com","EventName":"UpdateDistribution","EventID":"e1",
				"RequestParameters":{"Id":"E1PRODEXAMPLE","DistributionConfig":{"CustomErrorResponses":{"Quantity":1,"Items":[{"ErrorCode":404}]},"ContinuousDeploymentPolicyId":""}}}`},
			want: []string{"08:00:00 production errors=true", "08:00:00 production enabled=false"},
		},
		{
			name:    "quantity as a string",
			records: []string{updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":"0"},"staging":true`)},
			want:    []string{"08:00:00 staging errors=false"},
		},
		{
			name:    "items without quantity",
			records: []string{updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"items":[{"errorCode":404}]}`)},
			want:    []string{"08:00:00 staging errors=true"},
		},
		{
			name:    "no customErrorResponses member means none",
			records: []string{updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"comment":"x"`)},
			want:    []string{"08:00:00 staging errors=false"},
		},
		{
			name:    "event name with the API version",
			records: []string{strings.Replace(updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`), `"UpdateDistribution"`, `"UpdateDistribution2014_01_31"`, 1)},
			want:    []string{"08:00:00 staging errors=true"},
		},
		{
			name:      "the same operation of another service",
			records:   []string{strings.Replace(updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`), "cloudfront.amazonaws.com", "lightsail.amazonaws.com", 1)},
			wantOther: 0,
		},
		{
			name:        "no distributionConfig",
			records:     []string{`{"eventTime":"2025-09-10T08:00:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","requestParameters":{"id":"E1PRODEXAMPLE"},"eventID":"e1"}`},
			wantUnknown: 1,
		},
		{
			name:        "requestParameters not an object",
			records:     []string{`{"eventTime":"2025-09-10T08:00:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","requestParameters":"HIDDEN_DUE_TO_SECURITY_REASONS","eventID":"e1"}`},
			wantUnknown: 1,
		},
		{
			name:        "requestParameters null",
			records:     []string{`{"eventTime":"2025-09-10T08:00:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateDistribution","requestParameters":null,"eventID":"e1"}`},
			wantUnknown: 1,
		},
		{
			name:        "policy requestParameters not an object",
			records:     []string{`{"eventTime":"2025-09-10T08:00:00Z","eventSource":"cloudfront.amazonaws.com","eventName":"UpdateContinuousDeploymentPolicy","requestParameters":[1],"eventID":"e1"}`},
			wantUnknown: 1,
		},
		{
			name:        "bad quantity",
			records:     []string{updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":"many"}`)},
			wantUnknown: 1,
		},
		{
			name:        "bad event time",
			records:     []string{updateRecord(prodID, "yesterday", "e1", `"customErrorResponses":{"quantity":1}`)},
			wantUnknown: 1,
		},
		{
			name: "header policy",
			records: []string{
				updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":0},`+attach),
				policyUpdate("2025-09-10T08:05:00Z", "e2", `"enabled":true,"trafficConfig":{"type":"SingleHeader","singleHeaderConfig":{"header":"aws-cf-cd-test","value":"1"}}`),
			},
			want: []string{"08:00:00 production errors=false", "08:05:00 production enabled=true type=header sticky=false"},
		},
		{
			name: "weight as a string, no stickiness",
			records: []string{
				updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":0},`+attach),
				policyUpdate("2025-09-10T08:05:00Z", "e2", `"enabled":true,"trafficConfig":{"type":"SingleWeight","singleWeightConfig":{"weight":"0.15"}}`),
			},
			want: []string{"08:00:00 production errors=false", "08:05:00 production enabled=true type=weighted weight=0.15 sticky=false"},
		},
		{
			name: "policy detached",
			records: []string{
				policyUpdate("2025-09-10T07:00:00Z", "e0", `"enabled":true,"trafficConfig":{"type":"SingleWeight","singleWeightConfig":{"weight":0.1}}`),
				updateRecord(prodID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":0},`+attach),
				updateRecord(prodID, "2025-09-10T09:00:00Z", "e2", `"customErrorResponses":{"quantity":0},"continuousDeploymentPolicyId":""`),
			},
			want: []string{
				"07:00:00 production enabled=true type=weighted weight=0.1 sticky=false",
				"08:00:00 production errors=false",
				"09:00:00 production enabled=false",
			},
		},
		{
			name: "two changes of one setting in one second: the later record wins",
			records: []string{
				updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`),
				updateRecord(stagingID, "2025-09-10T08:00:00Z", "e2", `"customErrorResponses":{"quantity":0}`),
				updateRecord(stagingID, "2025-09-10T08:00:00Z", "e3", `"customErrorResponses":{"quantity":1}`),
			},
			want: []string{"08:00:00 staging errors=true"},
		},
		{
			name: "an unchanged setting makes no change",
			records: []string{
				updateRecord(stagingID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`),
				updateRecord(stagingID, "2025-09-10T09:00:00Z", "e2", `"customErrorResponses":{"quantity":3}`),
			},
			want: []string{"08:00:00 staging errors=true"},
		},
		{
			name:      "another distribution",
			records:   []string{updateRecord(otherID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`)},
			wantOther: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl, rep := buildFrom(t, tt.records...)
			if d := cmp.Diff(tt.want, summary(tl)); d != "" {
				t.Errorf("changes mismatch (-want +got):\n%s", d)
			}
			if len(rep.Unknown) != tt.wantUnknown {
				t.Errorf("unknown events %+v, want %d", rep.Unknown, tt.wantUnknown)
			}
			if rep.OtherDistributions != tt.wantOther {
				t.Errorf("other distributions %d, want %d", rep.OtherDistributions, tt.wantOther)
			}
		})
	}
}

// TestEmptyTimeline checks that a record without a relevant event gives a
// timeline without changes that the analyzer still reads.
func TestEmptyTimeline(t *testing.T) {
	tl, rep := buildFrom(t, updateRecord(otherID, "2025-09-10T08:00:00Z", "e1", `"customErrorResponses":{"quantity":1}`))
	if len(tl.Changes) != 0 || rep.OtherDistributions != 1 {
		t.Fatalf("changes %d, other %d; want 0, 1", len(tl.Changes), rep.OtherDistributions)
	}
	text := yamlOf(t, tl)
	back, err := analyze.ParseTimeline([]byte(text), "empty.yaml")
	if err != nil {
		t.Fatalf("analyzer rejects %q: %v", text, err)
	}
	if back.Distributions.Production != prodID || len(back.Changes) != 0 {
		t.Errorf("read back %+v", back)
	}
}
