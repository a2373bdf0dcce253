package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones without the system's zoneinfo

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// paramList is a repeatable --param name=value.
type paramList map[string]string

func (p paramList) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, ",")
}

func (p paramList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: use --param name=value", s)
	}
	if err := httpnode.CheckParamName(k); err != nil {
		return err
	}
	p[k] = v
	return nil
}

// renderOptions are the flags that say how a node is rendered: --param for
// every command; the worker's global parameters and time zone for the
// commands that render here (validate, test).
type renderOptions struct {
	params     paramList
	paramsFile string
	timeZone   string
}

func (o *renderOptions) register(fs *flag.FlagSet, local bool) {
	o.params = paramList{}
	fs.Var(o.params, "param", "set a node parameter, name=value (repeatable; overrides the file's params)")
	if local {
		fs.StringVar(&o.paramsFile, "params-file", "", "global parameters, a JSON object, as the worker has them (HTTPNODE_PARAMS_FILE)")
		fs.StringVar(&o.timeZone, "time-zone", "UTC", "default time zone of time macros, as on the worker (HTTPNODE_TIME_ZONE)")
	}
}

// apply merges --param values into the node's params.
func (o *renderOptions) apply(n *httpnode.Node) {
	if len(o.params) == 0 {
		return
	}
	if n.Params == nil {
		n.Params = map[string]string{}
	}
	maps.Copy(n.Params, o.params)
}

// render renders the node as the worker would for a run starting now, with
// placeholder built-ins; global parameters come from --params-file and
// HTTPNODE_PARAM_* in this environment.
func (o *renderOptions) render(n httpnode.Node) (httpnode.Rendered, error) {
	globals, err := activities.LoadParams(o.paramsFile, os.Environ())
	if err != nil {
		return httpnode.Rendered{}, err
	}
	zone, err := time.LoadLocation(o.timeZone)
	if err != nil {
		return httpnode.Rendered{}, fmt.Errorf("--time-zone: %q is not a time zone (use an IANA name such as \"Europe/Berlin\")", o.timeZone)
	}
	at := time.Now()
	if t, err := time.Parse(time.RFC3339, n.ScheduledTime); err == nil {
		at = t
	}
	r, err := n.WithDefaults().Render(httpnode.RenderEnv{
		Globals:  globals,
		Builtins: map[string]string{"nodeName": n.Name, "workflowId": "starter-test", "runId": "starter-test", "attempt": "1"},
		Time:     at, Zone: zone,
	})
	return r, err
}
