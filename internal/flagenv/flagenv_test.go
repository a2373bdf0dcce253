package flagenv

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestApply(t *testing.T) {
	t.Setenv("FE_ADDR", "from-env:1")
	t.Setenv("FE_NS", "env-ns")
	t.Setenv("FE_WAIT", "90s")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("address", "default:0", "server (FE_ADDR)")
	ns := fs.String("namespace", "default", "namespace (FE_NS)")
	wait := fs.Duration("wait", time.Second, "how long (FE_WAIT)")
	other := fs.String("other", "o", "no variable")
	require.NoError(t, fs.Parse([]string{"--namespace", "flag-ns"}))
	require.NoError(t, Apply(fs))
	require.Equal(t, "from-env:1", *addr)
	require.Equal(t, "flag-ns", *ns, "the command line wins over the environment")
	require.Equal(t, 90*time.Second, *wait)
	require.Equal(t, "o", *other)

	t.Setenv("FE_WAIT", "soon")
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	fs2.Duration("wait", time.Second, "how long (FE_WAIT)")
	require.NoError(t, fs2.Parse(nil))
	require.ErrorContains(t, Apply(fs2), `environment FE_WAIT="soon"`)
}
