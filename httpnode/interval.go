package httpnode

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NextWait returns the wait before poll n (from 1) of a callback with
// defaults applied: the backoff strategy's interval, replaced by the remote's
// hint when there is one, with full jitter when asked, and always within
// [minInterval, maxInterval]. seed makes the jitter deterministic: the same
// node, attempt and poll always wait the same.
func (c Callback) NextWait(n int, hint time.Duration, seed string) time.Duration {
	base := c.Interval.D()
	switch c.Backoff {
	case BackoffLinear:
		base *= time.Duration(n)
	case BackoffExponential:
		for i := 1; i < n && base < c.MaxInterval.D(); i++ {
			base *= 2
		}
	}
	if hint > 0 {
		base = hint
	}
	lo, hi := c.MinInterval.D(), c.MaxInterval.D()
	base = min(max(base, lo), hi)
	if c.Jitter && hint == 0 {
		sum := sha256.Sum256([]byte(seed + "/" + strconv.Itoa(n)))
		frac := float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
		base = max(lo, time.Duration(frac*float64(base)))
	}
	return base
}

// ParseIntervalHint reads an interval hint: a number of seconds or a
// duration string ("30s"); 0 when it is neither or not positive. A hint too
// large for a time.Duration saturates at the largest one (callers cap it).
func ParseIntervalHint(s string) time.Duration {
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
		return seconds(secs)
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return 0
}

// ParseRetryAfter reads a Retry-After value (seconds or an HTTP date) as a
// delay from now; 0 when absent, unreadable or in the past. A delay too
// large for a time.Duration saturates at the largest one (callers cap it).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		d = seconds(float64(secs))
	} else if errors.Is(err, strconv.ErrRange) {
		d = math.MaxInt64
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(d, 0)
}

// seconds converts a number of seconds to a Duration, saturating.
func seconds(secs float64) time.Duration {
	if secs >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(secs * float64(time.Second))
}
