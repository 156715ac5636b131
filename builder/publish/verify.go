package publish

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/duws/duws/builder/site"
)

// Verify checks a tree against its manifest (and, with a public key, the
// manifest against its signature) and returns every difference: files
// missing, altered or extra. dir is a tree or a site directory, whose live
// tree is then checked.
func Verify(dir string, pub ed25519.PublicKey) ([]string, error) {
	tree, err := site.ResolveTree(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	dir, err = filepath.EvalSymlinks(filepath.Join(dir, tree))
	if err != nil {
		return nil, err
	}
	m, mb, err := site.ReadManifest(os.DirFS(dir), ".", dir)
	if err != nil {
		return nil, err
	}
	var diffs []string
	if pub != nil {
		sig, err := os.ReadFile(filepath.Join(dir, site.SignatureName))
		switch {
		case err != nil:
			diffs = append(diffs, "signature: "+site.SignatureName+" missing")
		case !verifySignature(pub, mb, sig):
			diffs = append(diffs, "signature: does not match the manifest and key")
		}
	}
	if m.Format != site.Format {
		diffs = append(diffs, fmt.Sprintf("manifest: format %d, want %d", m.Format, site.Format))
	}
	listed := map[string]bool{site.ManifestName: true, site.SignatureName: true}
	for _, f := range m.Files {
		listed[f.Path] = true
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		fh, err := os.Open(p)
		if err != nil {
			diffs = append(diffs, "missing: "+f.Path)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, fh)
		fh.Close()
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("unreadable: %s: %v", f.Path, err))
			continue
		}
		if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || sum != f.SHA256 {
			diffs = append(diffs, fmt.Sprintf("altered: %s (%d bytes %s, manifest says %d bytes %s)", f.Path, n, sum[:12], f.Size, f.SHA256[:12]))
		}
	}
	// Extra files count in the tree's own part; the shared directories
	// (reached through symbolic links) hold other trees' files too.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 && (rel == site.AnswersDir || rel == site.FilesDir) {
			return nil
		}
		if !listed[rel] {
			diffs = append(diffs, "extra: "+rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(diffs)
	return diffs, nil
}

// GenerateKey returns a new Ed25519 key pair in PEM: the private key as
// PKCS #8, the public key as PKIX.
func GenerateKey(rand io.Reader) (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), nil
}

// ParsePrivateKey reads a PEM private key written by GenerateKey.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return priv, nil
}

// ParsePublicKey reads a PEM public key written by GenerateKey.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return pub, nil
}

// Signer returns a Writer.Sign function for priv: the signature, base64,
// on one line.
func Signer(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(manifest []byte) []byte {
		return []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, manifest)) + "\n")
	}
}

func verifySignature(pub ed25519.PublicKey, manifest, sig []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	return err == nil && ed25519.Verify(pub, manifest, raw)
}
