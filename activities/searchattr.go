package activities

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// HasStuckAttribute reports whether the namespace defines the HttpNodeStuck
// Bool search attribute; an error (no permission, say) counts as no.
func HasStuckAttribute(ctx context.Context, c client.Client, namespace string) bool {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	return err == nil && resp.GetCustomAttributes()[StuckSearchAttribute] == enumspb.INDEXED_VALUE_TYPE_BOOL
}
