package main

import (
	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/usage"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cflens",
		Short:         "Analyze CloudFront access logs of a production and a staging distribution",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(usage.FlagError)
	// One line per subcommand; each lives in its own file.
	root.AddCommand(newVersionCmd())
	root.AddCommand(newIngestCmd())
	root.AddCommand(newHeadCmd())
	root.AddCommand(newAnalyzeCmd())
	root.AddCommand(newWindowsCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newDemoCmd())
	root.AddCommand(newAthenaCmd())
	return root
}
