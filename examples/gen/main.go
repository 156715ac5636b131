// Command gen writes the example vendor packages in examples/vendor: small
// but realistic UCUpdates cabinets for several device families, with tiny
// fake images, written by duws's own cabinet writer. The output is the
// same on every run and machine.
//
//	go run ./examples/gen [-out examples/vendor]
//
// The top-level policy.yaml and examples/packages were made from them with
//
//	duws import examples/vendor/*.cab examples/vendor/*.exe
//
// followed by the approvals the policy shows; a test checks both stay in
// step with this generator.
package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duws/duws/builder/cab"
)

// release is one vendor package: a version of several devices.
type release struct {
	file    string
	brand   string
	version string
	devices []device
	noInfo  bool // a package with only the folder tree
	exe     bool // wrapped in a self-extracting program
	date    time.Time
}

type device struct {
	model, revision string
	locales         []string
}

var releases = []release{
	{file: "polycom-4.0.7577.4100.cab", brand: "Polycom", version: "4.0.7577.4100", date: day(2011, 9, 20),
		devices: []device{{"CX600", "A", []string{"ENU"}}, {"CX700", "A", []string{"ENU"}}}},
	{file: "polycom-4.0.7577.4363.cab", brand: "Polycom", version: "4.0.7577.4363", date: day(2013, 3, 12),
		devices: []device{{"CX600", "A", []string{"ENU"}}, {"CX3000", "A", []string{"ENU"}}, {"CX700", "A", []string{"ENU"}}}},
	{file: "polycom-4.0.7577.4398.cab", brand: "Polycom", version: "4.0.7577.4398", date: day(2013, 7, 2),
		devices: []device{{"CX600", "A", []string{"ENU"}}, {"CX3000", "A", []string{"ENU"}}}},
	{file: "aastra-4.0.7577.4363.exe", brand: "Aastra", version: "4.0.7577.4363", date: day(2013, 3, 20), exe: true,
		devices: []device{{"6725ip", "A", []string{"ENU", "DEU", "FRA"}}}},
	{file: "aastra-4.0.7577.4398.cab", brand: "Aastra", version: "4.0.7577.4398", date: day(2013, 7, 15),
		devices: []device{{"6725ip", "A", []string{"ENU", "DEU", "FRA"}}}},
	{file: "hp-4.0.7577.4366.cab", brand: "HP", version: "4.0.7577.4366", date: day(2013, 4, 8), noInfo: true,
		devices: []device{{"4120", "A", []string{"ENU"}}}},
	{file: "hp-4.0.7577.4398.cab", brand: "HP", version: "4.0.7577.4398", date: day(2013, 7, 30), noInfo: true,
		devices: []device{{"4120", "A", []string{"ENU"}}}},
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func main() {
	out := flag.String("out", "examples/vendor", "directory to write the packages to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, rel := range releases {
		b, err := rel.cabinet()
		if err != nil {
			return fmt.Errorf("%s: %w", rel.file, err)
		}
		if rel.exe {
			b = selfExtracting(b)
		}
		if err := os.WriteFile(filepath.Join(out, rel.file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ruleID gives each example device a fixed GUID, as a vendor would.
func ruleID(identity string) string {
	h := sha1.Sum([]byte("duws example rule " + identity))
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}

type file struct {
	name string
	data []byte
}

func (rel release) cabinet() ([]byte, error) {
	var files []file
	var info strings.Builder
	info.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<UpdateInfo>\r\n")
	fmt.Fprintf(&info, "  <PackageVersion>%s</PackageVersion>\r\n", rel.date.Format("2006.01.02"))
	for _, d := range rel.devices {
		for _, loc := range d.locales {
			identity := strings.Join([]string{"UCPhone", rel.brand, d.model, d.revision, loc}, "/")
			dir := identity + "/" + rel.version + "/CPE/"
			seed := sha256.Sum256([]byte(dir))
			rng := rand.New(rand.NewPCG(uint64(seed[0])<<8|uint64(seed[1]), uint64(seed[2])))
			image := make([]byte, 6000+rng.IntN(6000))
			copy(image, "NBT0 fake firmware image for "+identity+" "+rel.version+"\x00")
			for i := 64; i < len(image); i++ {
				image[i] = byte(rng.IntN(16)) // compressible, like code
			}
			catalog := []byte("fake security catalog (signature) of CPE.nbt " + hex.EncodeToString(sha256Sum(image)))
			desc := []byte(fmt.Sprintf("<?xml version=\"1.0\"?>\r\n<Update><Model>%s</Model><Version>%s</Version><Notes>Example update for duws.</Notes></Update>\r\n", d.model, rel.version))
			ufiles := []file{{dir + "CPE.cat", catalog}, {dir + "CPE.nbt", image}, {dir + "CPE.xml", desc}}
			files = append(files, ufiles...)
			fmt.Fprintf(&info, "  <Update>\r\n    <RuleId>%s</RuleId>\r\n", ruleID(identity))
			fmt.Fprintf(&info, "    <DeviceType>UCPhone</DeviceType><Brand>%s</Brand><Model>%s</Model><Revision>%s</Revision><Locale>%s</Locale>\r\n", rel.brand, d.model, d.revision, loc)
			fmt.Fprintf(&info, "    <UpdateType>CPE</UpdateType><Version>%s</Version>\r\n", rel.version)
			for _, f := range ufiles {
				fmt.Fprintf(&info, "    <File><Name>%s</Name><Size>%d</Size><SHA256>%s</SHA256></File>\r\n", filepath.Base(f.name), len(f.data), hex.EncodeToString(sha256Sum(f.data)))
			}
			info.WriteString("  </Update>\r\n")
		}
	}
	info.WriteString("</UpdateInfo>\r\n")
	if !rel.noInfo {
		files = append([]file{{"updateInfo.xml", []byte(info.String())}}, files...)
	}
	var buf bytes.Buffer
	w := cab.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&cab.FileHeader{Name: f.name, Modified: rel.date, Attributes: cab.AttrArchive})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// selfExtracting wraps a cabinet the way vendors shipped UCUpdates.exe: a
// program followed by the cabinet. The stub is not a real program; it
// carries the strings such programs do, signature included.
func selfExtracting(cabinet []byte) []byte {
	var b bytes.Buffer
	b.WriteString("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")
	b.WriteString("This program cannot be run in DOS mode.\r\r\n$")
	b.WriteString("\x00 example self-extractor for duws: looks for MSCF in itself \x00")
	b.Write(make([]byte, 4096-b.Len()))
	b.Write(cabinet)
	return b.Bytes()
}
