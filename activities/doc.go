// Package activities holds the node's activities (SendRequest, CheckStatus) on
// one struct of dependencies, the one HTTP client factory every outbound
// request goes through, secret resolution and masking, and the table that
// classifies responses and transport failures as retryable or final.
package activities
