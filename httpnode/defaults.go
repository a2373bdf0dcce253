package httpnode

import (
	"cmp"
	"strings"
	"time"
)

// Defaults of a node's optional fields.
const (
	DefaultMethod           = "GET"
	DefaultRequestTimeout   = 30 * time.Second
	DefaultPollTimeout      = 10 * time.Second
	DefaultMaxResponseBytes = 256 << 10
	MaxResponseBytesLimit   = 1 << 20
	DefaultPollInterval     = 10 * time.Second
	DefaultSafetyInterval   = time.Minute            // push+poll: the safety-net polls
	DefaultNotifyTimeout    = 10 * time.Second       // one try of a notification or a cancel call
	MinPollInterval         = time.Second            // timer mode: Temporal timers fire no sooner
	MinActivityPollInterval = 100 * time.Millisecond // activity mode
	DefaultPollDeadline     = 24 * time.Hour
	DefaultMaxPollInterval  = time.Hour
	DefaultPollsPerRun      = 300
	MaxPollsPerRun          = 320 // 6 events a poll: every run stays under 2,000 events
	DefaultRetryCount       = 1
	DefaultRetryInterval    = 5 * time.Minute
	DefaultTaskIDField      = "taskId"
	DefaultStatusField      = "status"
)

// Run statuses, failure actions, body types and backoff strategies.
const (
	RunNormal          = "normal"
	RunSkip            = "skip"
	OnFailureAbort     = "abort"
	OnFailureContinue  = "continue"
	BodyJSON           = "json"
	BodyForm           = "form"
	BodyRaw            = "raw"
	BackoffFixed       = "fixed"
	BackoffLinear      = "linear"
	BackoffExponential = "exponential"
)

// WithDefaults returns a copy of n with every unset optional field set to its
// default; a callback that names no mode waits in timer mode. Validate
// should be called first; WithDefaults does not check.
func (n Node) WithDefaults() Node { return n.WithDefaultsFor(ModeTimer) }

// WithDefaultsFor is WithDefaults on a worker whose default wait mode
// (worker --default-wait-mode) is waitMode: a callback that names no mode
// waits that way, and "auto" (the node's or the worker's) is resolved to the
// way AutoMode picks.
func (n Node) WithDefaultsFor(waitMode string) Node {
	if n.RunStatus == "" {
		n.RunStatus = RunNormal
	}
	if n.OnFailure == "" {
		n.OnFailure = OnFailureAbort
	}
	n.Request = n.Request.withDefaults()
	retry := Retry{}
	if n.Retry != nil {
		retry = *n.Retry
	}
	if retry.Count == nil {
		c := DefaultRetryCount
		retry.Count = &c
	}
	if retry.Interval == 0 {
		retry.Interval = Duration(DefaultRetryInterval)
	}
	n.Retry = &retry
	if n.Notify != nil {
		nt := *n.Notify
		nt.Method = "POST"
		if nt.Timeout == 0 {
			nt.Timeout = Duration(DefaultNotifyTimeout)
		}
		nt.Request = nt.Request.withDefaults()
		if nt.Format == "" {
			nt.Format = FormatJSON
		}
		n.Notify = &nt
	}
	if n.Cancel != nil {
		c := *n.Cancel
		if c.Timeout == 0 {
			c.Timeout = Duration(DefaultNotifyTimeout)
		}
		c = c.withDefaults()
		n.Cancel = &c
	}
	if n.Callback != nil {
		cb := *n.Callback
		if cb.Timeout == 0 {
			cb.Timeout = Duration(DefaultPollTimeout) // status endpoints answer fast; a lost poll is retried sooner
		}
		cb.Request = cb.Request.withDefaults()
		if cb.Interval == 0 && cb.Mode == ModePushPoll {
			cb.Interval = Duration(DefaultSafetyInterval)
		}
		if cb.Interval == 0 {
			cb.Interval = Duration(DefaultPollInterval)
		}
		if cb.Deadline == 0 {
			cb.Deadline = Duration(DefaultPollDeadline)
		}
		if cb.Backoff == "" {
			cb.Backoff = BackoffFixed
		}
		if cb.MaxInterval == 0 {
			cb.MaxInterval = Duration(max(DefaultMaxPollInterval, cb.Interval.D()))
		}
		if cb.Mode == "" {
			cb.Mode = cmp.Or(waitMode, ModeTimer)
		}
		if cb.Mode == ModeAuto {
			cb.Mode = cb.AutoMode()
		}
		if cb.MinInterval == 0 {
			cb.MinInterval = Duration(cb.minInterval())
		}
		if cb.TaskIDField == "" {
			cb.TaskIDField = DefaultTaskIDField
		}
		if cb.StatusField == "" {
			cb.StatusField = DefaultStatusField
		}
		if cb.PushStatusField == "" {
			cb.PushStatusField = cb.StatusField
		}
		if len(cb.Pending) == 0 {
			cb.Pending = []string{"PROCESSING"}
		}
		if len(cb.Success) == 0 {
			cb.Success = []string{"SUCCESS"}
		}
		if cb.PollsPerRun == 0 {
			cb.PollsPerRun = DefaultPollsPerRun
		}
		n.Callback = &cb
	}
	return n
}

// minInterval is the floor of waits in the callback's mode.
func (c Callback) minInterval() time.Duration {
	if c.Mode == ModeActivity {
		return MinActivityPollInterval
	}
	return MinPollInterval
}

func (r Request) withDefaults() Request {
	r.Method = r.Verb()
	if r.Timeout == 0 {
		r.Timeout = Duration(DefaultRequestTimeout)
	}
	if len(r.SuccessStatus) == 0 {
		r.SuccessStatus = []string{"2xx"}
	}
	if r.MaxResponseBytes == 0 {
		r.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if r.FollowRedirects && r.MaxRedirects == 0 {
		r.MaxRedirects = DefaultMaxRedirects
	}
	if len(r.Body) > 0 && r.BodyType == "" {
		r.BodyType = BodyJSON
	}
	return r
}

// Verb is the request's method as it is sent: upper case, DefaultMethod
// when unset.
func (r Request) Verb() string {
	if r.Method == "" {
		return DefaultMethod
	}
	return strings.ToUpper(r.Method)
}
