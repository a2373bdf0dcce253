package httpnode

// The callback update: how a callback receiver hands a pushed status to a
// node in a push mode (callback.mode "push" or "push+poll").

// CallbackUpdate is the update a callback receiver delivers a pushed status
// with. It is API: never rename.
const CallbackUpdate = "callback"

// Reasons a pushed callback is refused, as the ApplicationError type the
// update fails with (no history is written for a refused callback). They
// are API: the receiver answers by them.
const (
	RejectNotExpected = "CallbackNotExpected" // the node is not in a push mode
	RejectStale       = "CallbackStale"       // the URL belongs to an attempt that has ended
	RejectDuplicate   = "CallbackDuplicate"   // this delivery, or this final status, was applied already
	RejectConflict    = "CallbackConflict"    // another final status was applied already
	RejectUnreadable  = "CallbackUnreadable"  // the body holds no status at the configured field
)

// CallbackDelivery is one pushed callback as the receiver forwards it: the
// attempt its URL was minted for, an id to drop duplicates by (the
// webhook-id, else a hash of the body), and the body (capped).
type CallbackDelivery struct {
	AttemptKey  string `json:"attemptKey"`
	DeliveryID  string `json:"deliveryId"`
	ContentType string `json:"contentType,omitempty"`
	Body        string `json:"body"`
}

// CallbackAck is the node's answer to an applied callback: the status it
// read and whether it ended the wait.
type CallbackAck struct {
	Status string `json:"status"`
	Final  bool   `json:"final"`
}
