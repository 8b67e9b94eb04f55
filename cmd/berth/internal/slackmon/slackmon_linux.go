package slackmon

import (
	"time"

	"github.com/berth-dev/berth/internal/sysmonslack"
)

// slack is berthd's: longer ones saved berthd more CPU but delayed the
// hand-off of a P from a thread blocked in a system call.
const slack = time.Millisecond

func init() {
	_ = sysmonslack.Relax(slack)
}
