package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/goccy/go-yaml"

	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// Diagnostic and Diagnostics are findings with FILE:LINE:COL positions.
type (
	Diagnostic  = strictyaml.Diagnostic
	Diagnostics = strictyaml.Diagnostics
)

// maxFileSize bounds what is read: a manifest is a few kilobytes; anything near this is a
// mistake (the wrong file), not a fleet.
const maxFileSize = strictyaml.MaxFileSize

// Load reads, decodes, defaults and validates the manifest at path. The error is for the
// file itself (missing, unreadable); problems in its content are in the diagnostics, and
// the manifest is usable only when they hold no errors.
func Load(path string) (*Manifest, Diagnostics, error) {
	data, err := strictyaml.ReadFile(path, maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading the manifest: %w (create one with: spotfleet init > spotfleet.yaml)", err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the manifest: %w", err)
	}
	m, diags := Parse(path, data)
	return m, diags, nil
}

// Parse decodes data strictly, fills in the defaults and validates the result. Every
// problem found is returned, sorted by position.
func Parse(file string, data []byte) (*Manifest, Diagnostics) {
	m := &Manifest{}
	src, diags := strictyaml.Decode(file, data, m)
	if !src.Empty() && len(diags.Errors()) < strictyaml.MaxDiagnostics {
		applyDefaults(m, src)
		diags = append(diags, validate(m, src)...)
	}
	return m, diags.Capped(src.Dropped, src.DroppedWarnings)
}

// MarshalYAML renders the effective manifest; Parse of the result yields the same manifest.
func (m *Manifest) YAML() ([]byte, error) { return yaml.Marshal(m) }

// JSON renders the effective manifest as JSON with the same field names and order as the
// YAML. (goccy's YAMLToJSON leaves control characters unescaped, so encoding/json writes
// the scalars.)
func (m *Manifest) JSON() ([]byte, error) {
	y, err := m.YAML()
	if err != nil {
		return nil, err
	}
	var tree any
	if err := yaml.UnmarshalWithOptions(y, &tree, yaml.UseOrderedMap()); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeJSON(&b, tree); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case yaml.MapSlice:
		b.WriteByte('{')
		for i, item := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(fmt.Sprint(item.Key))
			b.Write(key)
			b.WriteByte(':')
			if err := writeJSON(b, item.Value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		s, err := json.Marshal(t)
		if err != nil {
			return err
		}
		b.Write(s)
	}
	return nil
}
