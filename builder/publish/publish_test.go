package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duws/duws/builder/internal/plantest"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/site"
	"github.com/duws/duws/internal/fleettest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// The fleets of package plantest, by the names these tests had when they
// lived in one package with them.
var (
	testInput   = plantest.Input
	parsePolicy = plantest.ParsePolicy
	mustPlan    = plantest.Plan
)

type fakeFiles = plantest.Files

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeTree(t testing.TB, in *plan.Input, files fakeFiles, dir string) (*Writer, Stats) {
	t.Helper()
	w := &Writer{Dir: dir, Keep: 2, Open: files.Open}
	st, err := w.Write(mustPlan(t, in))
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

// listing describes a tree: "path size sha256" per file, then the text of
// every file but the package files and index.html.
func listing(t testing.TB, root string) string {
	t.Helper()
	var paths []string
	// The files the tree has on its own, and the ones it lists.
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(root, site.ManifestName)); err == nil {
		plantest.WalkTree(root, func(rel, _ string) error {
			if !slices.Contains(paths, rel) {
				paths = append(paths, rel)
			}
			return nil
		})
	}
	slices.Sort(paths)
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p, err)
			continue
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, len(data), hashHex(data))
	}
	for _, p := range paths {
		if strings.HasPrefix(p, site.FilesDir+"/") || p == site.IndexName {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(root, p))
		fmt.Fprintf(&b, "\n== %s\n%s", p, data)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	fleettest.Golden(t, name, got, *updateGolden)
}

func TestGoldenTree(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w, st := writeTree(t, in, files, dir)
	golden(t, "small-tree.golden", listing(t, filepath.Join(dir, site.TreesDir, st.ID)))
	if err := w.Publish(st.ID); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Verify(dir, nil); err != nil || len(diffs) != 0 {
		t.Errorf("Verify = %v, %v", diffs, err)
	}
}

func TestDeterministic(t *testing.T) {
	in, files := testInput(t)
	a, b := t.TempDir(), t.TempDir()
	_, sa := writeTree(t, in, files, a)
	// The same inputs listed in another order, on another day.
	slices.Reverse(in.Packages)
	_, sb := writeTree(t, in, files, b)
	if sa.ID != sb.ID {
		t.Fatalf("tree ids differ: %s, %s", sa.ID, sb.ID)
	}
	la := listing(t, filepath.Join(a, site.TreesDir, sa.ID))
	lb := listing(t, filepath.Join(b, site.TreesDir, sb.ID))
	if la != lb {
		t.Error("trees differ")
	}
	// And every byte of every file, package files and index.html too.
	plantest.WalkTree(filepath.Join(a, site.TreesDir, sa.ID), func(rel, p string) error {
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, site.TreesDir, sb.ID, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs", rel)
		}
		return nil
	})
	// Building again changes nothing.
	w := &Writer{Dir: a, Open: files.Open}
	st, err := w.Write(mustPlan(t, in))
	if err != nil || !st.Reused {
		t.Errorf("second build: %+v, %v; want the tree reused", st, err)
	}
}

func TestPublishRevertKeep(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w := &Writer{Dir: dir, Keep: 1, Open: files.Open, Now: pastGrace()}
	var ids []string
	for i := range 3 {
		in.PolicyBytes = append(in.PolicyBytes, []byte(fmt.Sprintf("# edit %d\n", i))...)
		st, err := w.Write(mustPlan(t, in))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && st.Linked == 0 {
			t.Errorf("build %d linked no files from earlier trees: %+v", i, st)
		}
		if err := w.Publish(st.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	trees, _ := w.Trees()
	if len(trees) != 2 || !slices.Contains(trees, ids[1]) || !slices.Contains(trees, ids[2]) {
		t.Errorf("trees kept: %v; want the live one and one before", trees)
	}
	got, err := w.Revert()
	if err != nil || got != ids[1] {
		t.Fatalf("Revert = %s, %v; want %s", got, err, ids[1])
	}
	if cur, _ := w.Current(); cur != ids[1] {
		t.Errorf("current is %s after revert", cur)
	}
	if _, err := w.Revert(); err == nil {
		t.Error("revert past the kept trees succeeded")
	}
}

func TestInterruptedWriteChangesNothing(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w, st := writeTree(t, in, files, dir)
	w.Publish(st.ID)
	before := listing(t, dir)
	// A build whose package files cannot be read fails half-way.
	in.PolicyBytes = append(in.PolicyBytes, "# changed\n"...)
	p := mustPlan(t, in)
	var n atomic.Int32
	broken := &Writer{Dir: dir, Keep: 2, Open: func(s plan.Source) (io.ReadCloser, error) {
		if n.Add(1) > 1 {
			return nil, errors.New("disk on fire")
		}
		return files.Open(s)
	}}
	// Force extraction by building into a fresh site sharing nothing.
	broken.Dir = t.TempDir()
	if _, err := broken.Write(p); err == nil {
		t.Fatal("write with failing reads succeeded")
	}
	ents, _ := os.ReadDir(filepath.Join(broken.Dir, site.TreesDir))
	if len(ents) != 0 {
		t.Errorf("failed write left %v", ents)
	}
	if after := listing(t, dir); after != before {
		t.Error("the live site changed")
	}
}

func TestSignVerify(t *testing.T) {
	in, files := testInput(t)
	priv, pub, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &Writer{Dir: dir, Open: files.Open, Sign: Signer(sk)}
	st, err := w.Write(mustPlan(t, in))
	if err != nil {
		t.Fatal(err)
	}
	w.Publish(st.ID)
	if diffs, err := Verify(dir, pk); err != nil || len(diffs) != 0 {
		t.Fatalf("Verify = %v, %v", diffs, err)
	}
	tree := filepath.Join(dir, site.TreesDir, st.ID)
	m, _ := os.ReadFile(filepath.Join(tree, site.ManifestName))
	os.WriteFile(filepath.Join(tree, site.ManifestName), bytes.Replace(m, []byte(`"format": 1`), []byte(`"format": 1 `), 1), 0o644)
	diffs, _ := Verify(dir, pk)
	if !slices.Contains(diffs, "signature: does not match the manifest and key") {
		t.Errorf("altered manifest: %v", diffs)
	}
	_, other, _ := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{8}, 64)))
	ok, _ := ParsePublicKey(other)
	os.WriteFile(filepath.Join(tree, site.ManifestName), m, 0o644)
	if diffs, _ := Verify(dir, ok); len(diffs) != 1 {
		t.Errorf("wrong key: %v", diffs)
	}
}

func TestPlanDiffGolden(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w, st := writeTree(t, in, files, dir)
	w.Publish(st.ID)
	before, err := plan.TreeView(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if d := plan.Diff(before, plan.PlanView(mustPlan(t, in))); len(d) != 0 {
		t.Fatalf("a plan of the live inputs differs from the live tree: %v", d)
	}
	// Approve the CX600's pending version.
	src := strings.Replace(string(in.PolicyBytes), "approved: 4.0.7577.4363\n    pending: 4.0.7577.4398\n    restore: 4.0.7577.4100", "approved: 4.0.7577.4398\n    restore: 4.0.7577.4363", 1)
	if in.Policy, err = parsePolicy(src); err != nil {
		t.Fatal(err)
	}
	in.PolicyBytes = []byte(src)
	changes := plan.Diff(before, plan.PlanView(mustPlan(t, in)))
	var text, md bytes.Buffer
	plan.WriteText(&text, changes)
	plan.WriteMarkdown(&md, changes)
	golden(t, "plan-approve.txt", text.String())
	golden(t, "plan-approve.md", md.String())
	if empty, _ := plan.TreeView(os.DirFS(t.TempDir())); len(empty.Told) != 0 {
		t.Error("an empty site directory has answers")
	}
}

func TestPruneSharedFiles(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w := &Writer{Dir: dir, Keep: 0, Open: files.Open, Now: pastGrace()}
	st, err := w.Write(mustPlan(t, in))
	if err != nil {
		t.Fatal(err)
	}
	w.Publish(st.ID)
	old := filepath.Join(dir, site.FilesDir, "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE/CPE.nbt")
	if _, err := os.Stat(old); err != nil {
		t.Fatal(err)
	}
	// Approve the CX600's pending version: its 4363 files are no longer
	// offered, and once the old tree goes, they go.
	src := strings.Replace(string(in.PolicyBytes), "approved: 4.0.7577.4363\n    pending: 4.0.7577.4398\n    restore: 4.0.7577.4100", "approved: 4.0.7577.4398", 1)
	if in.Policy, err = parsePolicy(src); err != nil {
		t.Fatal(err)
	}
	in.PolicyBytes = []byte(src)
	st2, err := w.Write(mustPlan(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("shared file of the live tree removed before publishing: %v", err)
	}
	w.Publish(st2.ID)
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file only the pruned tree listed is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(old)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory left: %v", err)
	}
	if diffs, err := Verify(dir, nil); err != nil || len(diffs) != 0 {
		t.Errorf("Verify after pruning = %v, %v", diffs, err)
	}
}

// pastGrace is a clock that moves on by twice RetireGrace at every
// reading, so that a tree retired by one publish is past its grace at the
// next.
func pastGrace() func() time.Time {
	t := time.Date(2013, 7, 30, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(2 * RetireGrace)
		return t
	}
}

// TestRetiredTreeKeptForGrace: with --keep 0, or several publishes within
// a responder's reload interval, the trees that were live a moment ago
// stay on disk (a responder may still be serving them) until RetireGrace
// has passed.
func TestRetiredTreeKeptForGrace(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	now := time.Date(2013, 7, 30, 12, 0, 0, 0, time.UTC)
	w := &Writer{Dir: dir, Keep: 0, Open: files.Open, Now: func() time.Time { return now }}
	var ids []string
	for i := range 3 {
		in.PolicyBytes = append(in.PolicyBytes, []byte(fmt.Sprintf("# edit %d\n", i))...)
		st, err := w.Write(mustPlan(t, in))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Publish(st.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	trees, _ := w.Trees()
	slices.Sort(trees)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(trees, want) {
		t.Errorf("trees right after three publishes with keep 0: %v, want all of %v", trees, want)
	}
	for _, id := range ids[:2] {
		if diffs, err := Verify(filepath.Join(dir, site.TreesDir, id), nil); err != nil || len(diffs) != 0 {
			t.Errorf("retired tree %s damaged: %v, %v", id[:12], diffs, err)
		}
	}
	now = now.Add(RetireGrace + time.Second)
	in.PolicyBytes = append(in.PolicyBytes, "# edit 4\n"...)
	st, err := w.Write(mustPlan(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(st.ID); err != nil {
		t.Fatal(err)
	}
	trees, _ = w.Trees()
	slices.Sort(trees)
	want = slices.Sorted(slices.Values([]string{ids[2], st.ID}))
	if !slices.Equal(trees, want) {
		t.Errorf("trees after the grace: %v, want the live one and the one it just replaced %v", trees, want)
	}
}

// TestPublishKeepsStagedTrees: publishing one tree built with --no-publish
// deletes no other tree that was staged and never published.
func TestPublishKeepsStagedTrees(t *testing.T) {
	in, files := testInput(t)
	dir := t.TempDir()
	w := &Writer{Dir: dir, Keep: 0, Open: files.Open, Now: pastGrace()}
	var ids []string
	for i := range 2 {
		in.PolicyBytes = append(in.PolicyBytes, []byte(fmt.Sprintf("# staged %d\n", i))...)
		if i == 1 { // the second stage offers other files than the first
			in.PolicyBytes = []byte(strings.Replace(string(in.PolicyBytes), "approved: 4.0.7577.4363\n    pending: 4.0.7577.4398", "approved: 4.0.7577.4398", 1))
			var err error
			if in.Policy, err = parsePolicy(string(in.PolicyBytes)); err != nil {
				t.Fatal(err)
			}
		}
		st, err := w.Write(mustPlan(t, in))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	if err := w.Publish(ids[1]); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Verify(filepath.Join(dir, site.TreesDir, ids[0]), nil); err != nil || len(diffs) != 0 {
		t.Errorf("the other staged tree was damaged by publishing: %v, %v", diffs, err)
	}
	if err := w.Publish(ids[0]); err != nil {
		t.Errorf("publishing the other staged tree: %v", err)
	}
}
