package command

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// WriteFileAtomic copies r to path through a temporary name renamed at the
// end, so a failed transfer leaves no partial file. A file that cannot be
// created is reported as "<what>: <error>" (Docker's wording for save and
// export).
func WriteFileAtomic(path string, r io.Reader, what string) error {
	tmp := path + ".berth-tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// CheckArchiveOutput refuses to write an archive to a terminal: with no
// -o file, stdout must be redirected.
func CheckArchiveOutput(cli *Cli, path string) error {
	if path == "" && cli.Out().IsTerminal() {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	return nil
}

// WriteArchive copies r to the file at path (WriteFileAtomic) or, with no
// path, to stdout.
func WriteArchive(cli *Cli, r io.Reader, path, what string) error {
	if path == "" {
		_, err := io.Copy(cli.Out(), r)
		return err
	}
	return WriteFileAtomic(path, r, what)
}
