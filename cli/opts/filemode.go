package opts

import "os"

func fileMode(n uint64) os.FileMode { return os.FileMode(n) }
