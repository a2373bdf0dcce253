package main

import "flag"

// devConfig holds the --dev flags; see dev.go (the embedded server) and
// nodev.go (production builds, -tags nodev, which do not carry it).
type devConfig struct {
	enabled bool
	port    int
	uiPort  int
	dataDir string
	// codecEndpoint is the codec server the embedded Web UI uses, when
	// payloads are encrypted.
	codecEndpoint string
}

func (d *devConfig) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.enabled, "dev", false, "start an embedded Temporal server and Web UI in this process (HTTPNODE_DEV)")
	fs.IntVar(&d.port, "dev-port", 7233, "--dev: Temporal frontend port (HTTPNODE_DEV_PORT)")
	fs.IntVar(&d.uiPort, "ui-port", 8233, "--dev: Web UI port, 0 for none (HTTPNODE_UI_PORT)")
	fs.StringVar(&d.dataDir, "dev-data-dir", ".httpnode-dev", "--dev: where the server keeps its SQLite data; empty keeps it in memory (HTTPNODE_DEV_DATA_DIR)")
}
