// Package flagenv lets environment variables set flags: a flag whose usage
// ends in "(NAME)" takes $NAME when the command line does not set it, so the
// help text and the binding cannot drift apart.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"regexp"
)

var envName = regexp.MustCompile(`\(([A-Z][A-Z0-9_]*)\)$`)

// Apply sets every flag of fs not given on the command line from its
// environment variable; call it after fs.Parse. A bad value is an error
// naming the variable.
func Apply(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		m := envName.FindStringSubmatch(f.Usage)
		if err != nil || given[f.Name] || m == nil {
			return
		}
		if v, ok := os.LookupEnv(m[1]); ok && v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %v (it sets --%s)", m[1], v, e, f.Name)
			}
		}
	})
	return err
}
