package customer

import (
	"strings"
	"time"
)

// maxFraction is the most fraction-of-second digits a date-time may carry (.NET's 7).
const maxFraction = 7

// ParseTime reads a date-time in any form the contract accepts: RFC 3339 with any offset,
// the same with a space for the T, no offset (UTC), up to 7 fraction digits, or a bare
// date (midnight UTC). custd keeps milliseconds; finer digits are dropped. Every reader of
// input (JSON bodies, query strings, console forms) reads date-times with it.
func ParseTime(s string) (time.Time, bool) {
	if len(s) == len(time.DateOnly) {
		t, err := time.Parse(time.DateOnly, s)
		return t, err == nil
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		n := 0
		for n < len(s)-dot-1 && s[dot+1+n] >= '0' && s[dot+1+n] <= '9' {
			n++
		}
		if n == 0 || n > maxFraction {
			return time.Time{}, false
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), true
		}
	}
	return time.Time{}, false
}

// ParseDate reads a date such as a date of birth: a bare date, or a date-time whose UTC
// date is taken.
func ParseDate(s string) (time.Time, bool) {
	t, ok := ParseTime(s)
	if !ok {
		return t, false
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
}
