package formatter

import (
	"time"

	units "github.com/docker/go-units"
)

// now is replaceable in tests.
var now = time.Now

// HumanSince renders a Unix timestamp as docker's CREATED column:
// "2 minutes ago", "Less than a second ago".
func HumanSince(unix int64) string {
	return units.HumanDuration(now().UTC().Sub(time.Unix(unix, 0))) + " ago"
}

// HumanSize renders bytes as docker does in tables ("1.23MB", "0B").
func HumanSize(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}
