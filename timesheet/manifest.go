package timesheet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// manifestName is the inbox's record of the files it imported recently,
// kept in processed/: a file whose writer paused longer than stableFor and
// then went on writing is moved to processed/ with part of its rows; the
// record shows it changed, and the next pass imports it again, whole.
const manifestName = ".imported.json"

// manifestKeep is how long an imported file is watched for late writes.
const manifestKeep = 24 * time.Hour

type manifestEntry struct {
	Size       int64     `json:"size"`
	ModTime    time.Time `json:"mod_time"`
	ImportedAt time.Time `json:"imported_at"`
}

type manifest struct {
	files map[string]manifestEntry
	dirty bool
}

func readManifest(inbox string) (*manifest, error) {
	m := &manifest{files: map[string]manifestEntry{}}
	b, err := os.ReadFile(filepath.Join(inbox, "processed", manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if err := json.Unmarshal(b, &m.files); err != nil {
		// A damaged record only loses the watch for late writes.
		m.files, m.dirty = map[string]manifestEntry{}, true
	}
	return m, nil
}

func (m *manifest) record(name string, info os.FileInfo, now time.Time) {
	if info == nil {
		return
	}
	m.files[name] = manifestEntry{Size: info.Size(), ModTime: info.ModTime(), ImportedAt: now}
	m.dirty = true
}

func (m *manifest) forget(name string) {
	delete(m.files, name)
	m.dirty = true
}

// changed lists the recorded files of processed whose size or modification
// time moved since they were imported and that have settled (not modified
// within stableFor of now, the file system's clock), by name.
func (m *manifest) changed(processed string, now time.Time) []string {
	var out []string
	for name, e := range m.files {
		info, err := os.Stat(filepath.Join(processed, name))
		if err != nil {
			continue // moved away or deleted by the operator: nothing to do
		}
		if info.Size() == e.Size && info.ModTime().Equal(e.ModTime) {
			continue
		}
		if age := now.Sub(info.ModTime()); age >= 0 && age < stableFor { // still being written
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// write saves the record, dropping files imported more than manifestKeep
// ago, through a temporary file and a rename.
func (m *manifest) write(inbox string, now time.Time) error {
	for name, e := range m.files {
		if now.Sub(e.ImportedAt) > manifestKeep {
			delete(m.files, name)
			m.dirty = true
		}
	}
	if !m.dirty {
		return nil
	}
	dir := filepath.Join(inbox, "processed")
	if len(m.files) == 0 {
		if err := os.Remove(filepath.Join(dir, manifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("inbox: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	b, err := json.Marshal(m.files)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return nil
}
