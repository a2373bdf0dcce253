// Package workflows holds the HTTPNode workflow: the main request as an
// activity, then a durable timer-driven polling loop, node retries and the
// node timeout. Only deterministic code lives here.
package workflows
