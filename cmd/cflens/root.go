package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cflens",
		Short:         "Analyze CloudFront access logs of a production and a staging distribution",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err, hint: "run '" + c.CommandPath() + " --help' for usage"}
	})
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
