package main

import (
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/usage"
)

func newRootCmd() *cobra.Command { return newRootCmdWith(&deps{}) }

// newRootCmdWith is the root command whose verbs run with d.
func newRootCmdWith(d *deps) *cobra.Command {
	root := &cobra.Command{
		Use:           "cflens",
		Short:         "Analyze CloudFront access logs of a production and a staging distribution",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(usage.FlagError)
	// One line per subcommand; each lives in its own file.
	root.AddCommand(newVersionCmd(d))
	root.AddCommand(newIngestCmd(d))
	root.AddCommand(newHeadCmd(d))
	root.AddCommand(newAnalyzeCmd(d))
	root.AddCommand(newWindowsCmd(d))
	root.AddCommand(newReportCmd(d))
	root.AddCommand(newDemoCmd(d))
	root.AddCommand(newAthenaCmd(d))
	return root
}
