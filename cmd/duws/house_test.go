package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The command parses flags and prints: the workflows live in builder
// packages, so cmd/duws reaches neither the cabinet code nor the store.
func TestCommandImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "github.com/duws/duws/builder/cab", "github.com/duws/duws/builder/store":
			t.Errorf("cmd/duws imports %s", imp)
		}
	}
}

// maxFuncLines is the longest a function of the command may be: longer
// ones hold a workflow that belongs in a package.
const maxFuncLines = 60

func TestCommandFunctionsShort(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if lines > maxFuncLines {
				t.Errorf("%s: func %s is %d lines, more than %d", name, fd.Name.Name, lines, maxFuncLines)
			}
		}
	}
}
