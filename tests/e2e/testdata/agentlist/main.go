// Command agentlist is `ssh-add -l` for a busybox build step: it lists the
// keys of the ssh agent at $SSH_AUTH_SOCK, one "FINGERPRINT COMMENT" line
// each. tests/e2e builds it (static) for the `build --ssh` tests.
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func main() {
	conn, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentlist:", err)
		os.Exit(2)
	}
	defer conn.Close()
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentlist:", err)
		os.Exit(2)
	}
	for _, k := range keys {
		pk, err := ssh.ParsePublicKey(k.Blob)
		if err != nil {
			fmt.Fprintln(os.Stderr, "agentlist:", err)
			os.Exit(2)
		}
		fmt.Println(ssh.FingerprintSHA256(pk), k.Comment)
	}
}
