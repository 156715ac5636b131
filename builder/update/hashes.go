package update

import (
	"encoding/json"
	"fmt"
)

// Hashes are the sizes and SHA-256 of a package's files, by path in the
// package: what import learns reading a package in full, kept beside it in
// the store (see package store) so that a build hashes nothing again.
type Hashes map[string]FileHash

// FileHash is the size and SHA-256 of one file.
type FileHash struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// hashesLimit bounds a sidecar: a package of a few thousand files needs
// a few hundred KiB.
const hashesLimit = 16 << 20 // 16 MiB

// Hashes returns the hashes of the files of a package read in full.
func (p *Package) Hashes() Hashes {
	h := Hashes{}
	for _, u := range p.Updates {
		for _, f := range u.Files {
			if f.SHA256 != "" {
				h[f.Path] = FileHash{Size: f.Size, SHA256: f.SHA256}
			}
		}
	}
	return h
}

// Encode returns the hashes as JSON, sorted by path.
func (h Hashes) Encode() []byte {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		panic(err) // a map of strings to plain structs always encodes
	}
	return append(b, '\n')
}

// DecodeHashes reads hashes written by Encode.
func DecodeHashes(b []byte) (Hashes, error) {
	if len(b) > hashesLimit {
		return nil, fmt.Errorf("update: hashes: %d bytes, more than %d", len(b), hashesLimit)
	}
	var h Hashes
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("update: hashes: %w", err)
	}
	for p, fh := range h {
		if fh.Size < 0 || !isHex(fh.SHA256, 64) {
			return nil, fmt.Errorf("update: hashes: %q: size %d, SHA-256 %q", p, fh.Size, fh.SHA256)
		}
	}
	return h, nil
}

// Fill sets the sizes and hashes of u's files from h, reporting whether h
// had every one (otherwise u is unchanged).
func (h Hashes) Fill(u *Update) bool {
	for _, f := range u.Files {
		if _, ok := h[f.Path]; !ok {
			return false
		}
	}
	for i, f := range u.Files {
		fh := h[f.Path]
		u.Files[i].Size, u.Files[i].SHA256 = fh.Size, fh.SHA256
	}
	return true
}
