package archive

import (
	"syscall"

	"github.com/berth-dev/berth/engine/archive/securefs"
)

type syscallStat = syscall.Stat_t

func errReadOnlyForTest() error { return securefs.ErrReadOnly }
