package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// ParamEnvPrefix is the environment prefix of global parameters: ${region}
// is read from HTTPNODE_PARAM_region.
const ParamEnvPrefix = "HTTPNODE_PARAM_"

// LoadParams reads the global parameters: a JSON object of strings in file
// (if set), then HTTPNODE_PARAM_<name> variables from environ, which win.
func LoadParams(file string, environ []string) (map[string]string, error) {
	params := map[string]string{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--params-file: %v", unwrapPathError(err))
		}
		if err := json.Unmarshal(b, &params); err != nil {
			return nil, fmt.Errorf("--params-file %s: must be a JSON object of strings, e.g. {\"region\": \"eu\"}: %v", file, err)
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, ParamEnvPrefix); ok {
			params[name] = v
		}
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if err := httpnode.CheckParamName(name); err != nil {
			return nil, fmt.Errorf("global parameter: %v", err)
		}
	}
	return params, nil
}

// RenderInput is what the node run knows when it renders: the node (with
// defaults), the built-ins and the scheduled time.
type RenderInput struct {
	Node          httpnode.Node     `json:"node"`
	Builtins      map[string]string `json:"builtins"`
	ScheduledTime time.Time         `json:"scheduledTime"`
}

// RenderNode substitutes parameters (the node's over the worker's globals),
// built-ins and time macros in the node's requests. It runs once per node
// run, as a local activity, so every attempt, poll and replay uses the same
// values. Any problem fails with a non-retryable InvalidParameter error that
// names the parameter and the field.
func (a *Activities) RenderNode(_ context.Context, in RenderInput) (httpnode.Rendered, error) {
	out, err := in.Node.Render(httpnode.RenderEnv{Globals: a.Params, Builtins: in.Builtins, Time: in.ScheduledTime, Zone: a.Zone})
	if err != nil {
		return httpnode.Rendered{}, temporal.NewNonRetryableApplicationError(strings.TrimPrefix(err.Error(), "invalid node: "), httpnode.ErrInvalidParameter, nil)
	}
	out.StuckAttribute = a.StuckAttribute
	if b, err := json.Marshal(out); err == nil && len(b) > httpnode.PayloadBudget {
		return httpnode.Rendered{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"node: with its parameters filled in it is %d bytes, above the %d a node may take (parameters of this size belong in the data, not the node)", len(b), httpnode.PayloadBudget),
			httpnode.ErrInvalidParameter, nil)
	}
	return out, nil
}
