package transfer

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// State is what an import keeps on disk while it runs, so that a run stopped by Ctrl-C, a
// crash or a source that died resumes where it was: which source and client it is for,
// how far the download of a source went, and how far the writing went in which content.
type State struct {
	Source   string         `json:"source"` // the file's absolute path, or the source's URL and login
	Client   string         `json:"client"`
	Download *DownloadState `json:"download,omitempty"`
	// Digest is the SHA-256 of the content Resume belongs to.
	Digest string `json:"digest,omitempty"`
	Resume Resume `json:"resume"`
}

// LoadState reads a state file; a missing one is the zero State. Errors: the file's.
func LoadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, nil // a state that cannot be read is no state: start over
	}
	return st, nil
}

// Save writes st to path durably: a new file renamed over the old one, so that a crash
// leaves the old state or the new one, never half of one.
func (st State) Save(path string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
