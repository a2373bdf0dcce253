// Package deploy holds the container and Kubernetes files; this test keeps
// them consistent with the worker they run.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

type k8sDoc struct {
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	StringData map[string]string     `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					LivenessProbe  probe `yaml:"livenessProbe"`
					ReadinessProbe probe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// manifest is every document of the Kubernetes manifest.
func manifest(t *testing.T) []k8sDoc {
	t.Helper()
	b, err := os.ReadFile("k8s/worker.yaml")
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []k8sDoc
	for {
		var d k8sDoc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs
		} else {
			require.NoError(t, err)
		}
		docs = append(docs, d)
	}
}

// The pod's grace period outlasts the worker's stop timeout, so in-flight
// requests finish before the kubelet kills the container.
func TestKubernetes_GracePeriodOutlastsStopTimeout(t *testing.T) {
	var stop time.Duration
	var err error
	grace := -1
	for _, d := range manifest(t) {
		switch {
		case d.Kind == "ConfigMap" && d.Metadata.Name == "httpnode-worker":
			stop, err = time.ParseDuration(d.Data["HTTPNODE_STOP_TIMEOUT"])
			require.NoError(t, err)
			require.Equal(t, ":8080", d.Data["HTTPNODE_HEALTH_ADDR"])
		case d.Kind == "Deployment":
			grace = d.Spec.Template.Spec.TerminationGracePeriodSeconds
			c := d.Spec.Template.Spec.Containers[0]
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, "served by worker/health.go")
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, "served by worker/health.go")
		}
	}
	require.Positive(t, stop)
	require.Greater(t, time.Duration(grace)*time.Second, stop+5*time.Second)
}

func TestCompose_StopGraceOutlastsStopTimeout(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var c struct {
		Services map[string]struct {
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &c))
	w := c.Services["worker"]
	stop, err := time.ParseDuration(w.Environment["HTTPNODE_STOP_TIMEOUT"])
	require.NoError(t, err)
	grace, err := time.ParseDuration(w.StopGracePeriod)
	require.NoError(t, err)
	require.Greater(t, grace, stop)
}

// Every node secret of the manifest is bound to its hosts (an unbound one
// cannot be used), and the worker's keys are a Secret of their own.
func TestKubernetes_NodeSecretsAreBoundAndKeysApart(t *testing.T) {
	secrets := map[string]map[string]string{}
	var config map[string]string
	for _, d := range manifest(t) {
		switch {
		case d.Kind == "Secret":
			secrets[d.Metadata.Name] = d.StringData
		case d.Kind == "ConfigMap" && d.Metadata.Name == "httpnode-worker":
			config = d.Data
		}
	}
	require.NotEmpty(t, secrets["httpnode-secrets"])
	for k := range secrets["httpnode-secrets"] {
		if !strings.HasSuffix(k, ".hosts") {
			require.NotEmpty(t, secrets["httpnode-secrets"][k+".hosts"], "node secret %s has no binding", k)
		}
	}
	require.NotEmpty(t, secrets["httpnode-keys"])
	require.NotEqual(t, config["HTTPNODE_SECRETS_DIR"], config["HTTPNODE_KEYS_DIR"])
	require.NotEmpty(t, config["HTTPNODE_KEYS_DIR"])
}
