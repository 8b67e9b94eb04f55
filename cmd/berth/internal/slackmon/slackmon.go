// Package slackmon gives the berth client's runtime monitor thread (sysmon)
// timer slack, as berthd does (see internal/sysmonslack). Imported for its
// side effect by cmd/berth only.
//
// A berth command is busy in bursts (start-up, each request's encoding
// and decoding, its output), and each burst holds sysmon at 20 µs naps:
// about 75 wake-ups per `run --rm`, on this kind of 2-core virtual machine
// a tenth of the client's CPU (perf cpu-clock). Its duties matter little
// to a client on one P (taking the P back from a thread blocked in a
// system call, preempting a goroutine that ran 10 ms): a millisecond later
// is soon enough.
//
// Setting another thread's slack needs CAP_SYS_NICE: without it (a user
// in the docker group) nothing changes and nothing is said. The package
// initialises early, before the packages whose initialisation is most of
// the start-up (it imports only what they build on), so sysmon is relaxed
// for them too.
package slackmon
