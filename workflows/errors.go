package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// invalidParameter is the error of a request whose ${attempt} or ${taskId}
// could not be filled in.
func invalidParameter(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil)
}

func cancelledError() *httpnode.Error {
	return &httpnode.Error{Type: httpnode.ErrCancelled, Message: "node: cancelled"}
}

func (r *nodeRun) timeoutError() *httpnode.Error {
	return &httpnode.Error{Type: httpnode.ErrNodeTimeout, Message: fmt.Sprintf("node: timeout %s passed during attempt %d", r.node.Timeout, r.st.Attempt)}
}

// toError reduces an activity or workflow error to its stable type and message.
func toError(err error) *httpnode.Error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return &httpnode.Error{Type: app.Type(), Message: app.Message()}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return &httpnode.Error{Type: httpnode.ErrActivityTimeout, Message: "an activity timed out (" + timeout.TimeoutType().String() + "): the worker running it may have been lost"}
	}
	return &httpnode.Error{Type: "Unknown", Message: err.Error()}
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

func statusCode(r *httpnode.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}
