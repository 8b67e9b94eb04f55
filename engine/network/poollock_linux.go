package network

import (
	"log/slog"
	"os"

	"golang.org/x/sys/unix"
)

// poolLockPath is one file for the whole host: every berthd holds an
// exclusive flock on it while it picks a subnet from the default address
// pools and brings up the bridge that claims it. The bridge's address makes
// the subnet a host route, which the next daemon's choice avoids, so two
// daemons starting (or creating networks) at once never pick the same one.
const poolLockPath = "/run/berth-address-pools.lock"

// lockAddressPools takes the host-wide lock and returns its release. When
// the lock file cannot be opened (an unprivileged test run) the choice goes
// on unlocked, as it did before the lock existed, and says so in the log.
func lockAddressPools(log *slog.Logger) (unlock func()) {
	f, err := os.OpenFile(poolLockPath, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		log.Warn("address pool lock unavailable: a daemon starting at the same time may pick the same subnet", "err", err)
		return func() {}
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		log.Warn("address pool lock unavailable: a daemon starting at the same time may pick the same subnet", "err", err)
	}
	return func() { f.Close() }
}
