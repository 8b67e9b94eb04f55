// Package apifuzz is the API half of Berth's security suite: a bounded
// fuzzer that sends hostile raw Engine API requests (malformed, oversized
// and deeply nested JSON bodies for create/exec/network/volume create,
// hostile query parameters and filters, path traversal in names, huge
// headers, slow and truncated bodies, invalid UTF-8, negative and huge
// numbers) to a real berthd on private roots, and checks that berthd
// answers no 5xx outside the documented ones, stays up, keeps its RSS
// bounded and writes nothing outside its data root.
//
// Run it (as root, like the e2e tests):
//
//	go test ./tests/security/apifuzz -count=1 -v
//	APIFUZZ_SEED=42 APIFUZZ_N=3000 go test ./tests/security/apifuzz -count=1 -v
//
// The seed of each run is logged; APIFUZZ_SEED replays it.
package apifuzz
