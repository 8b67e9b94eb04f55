package images

// ProgressEvent is one line of a pull, push, import or load progress
// report. The API layer turns it into Docker's JSON progress message.
type ProgressEvent struct {
	ID     string // layer short ID, "" for whole-operation lines
	Status string // "Pulling fs layer", "Downloading", "Digest: sha256:...", ...
	Stream string // free text lines ("Loaded image: x:y\n")
	// Current and Total, when Total > 0 or Current > 0, are byte counts.
	Current, Total int64
	// Aux, if set, is sent as the message's "aux" object (push results).
	Aux any
}

// ProgressFunc receives progress events; it must not block for long. nil is
// allowed wherever a ProgressFunc is taken.
type ProgressFunc func(ProgressEvent)

func (f ProgressFunc) Send(e ProgressEvent) {
	if f != nil {
		f(e)
	}
}
