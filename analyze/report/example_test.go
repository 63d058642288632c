package report_test

import (
	"fmt"

	"github.com/cflens/cflens/analyze/report"
)

func ExampleTerminalSafe() {
	// A path from a log that would turn a terminal red and set its title.
	fmt.Println(report.TerminalSafe("/\x1b[31mred\x1b]0;pwned\x07"))
	// Output: /?[31mred?]0;pwned?
}
