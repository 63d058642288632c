package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

type versionOptions struct{}

func newVersionCmd(d *deps) *cobra.Command {
	o := &versionOptions{}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cflens version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd.Context(), o, d.streams(cmd))
		},
	}
}

func runVersion(_ context.Context, _ *versionOptions, s *IOStreams) error {
	v := "(devel)"
	goVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		goVersion = bi.GoVersion
	}
	_, err := fmt.Fprintf(s.Out, "cflens %s %s\n", v, goVersion)
	return err
}
