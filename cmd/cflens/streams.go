package main

import (
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

// IOStreams are what a command reads and writes, and its clock: the
// process's own in main, others in tests and when one command runs
// another (the demo).
type IOStreams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	Now func() time.Time
}

// deps are what a root command gives its verbs besides their flags. The
// zero value means the real ones.
type deps struct {
	// now is the clock (nil: time.Now).
	now func() time.Time
	// s3 is the S3 client of every S3 source and store, instead of one
	// loaded from the AWS configuration (the demo's endpoint).
	s3 *s3.Client
}

// streams are the IOStreams of cmd: its input and outputs (which tests
// set on the root command) and the clock of d.
func (d *deps) streams(cmd *cobra.Command) *IOStreams {
	now := d.now
	if now == nil {
		now = time.Now
	}
	return &IOStreams{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(), Now: now}
}

// aws gives a's S3 sources and stores the client of d, when it has one.
func (d *deps) aws(a *awsOptions) {
	if d.s3 == nil {
		return
	}
	if a.loaded == nil {
		a.loaded = &awsClient{}
	}
	client := d.s3
	a.loaded.once.Do(func() { a.loaded.client = client })
}
