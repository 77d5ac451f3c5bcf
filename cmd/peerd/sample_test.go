package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/peerd/peerd/internal/appdir"
)

// samplePath is the sample configuration at the repository root.
const samplePath = "../../sample-node.conf"

// sampleOption matches the sample's option lines, "; name=default". Prose
// and examples are written otherwise (examples are indented: ";   name=x").
var sampleOption = regexp.MustCompile(`^; ([a-z0-9]+)=(.*)$`)

// sampleExample matches the indented examples, ";   name=value  comment".
var sampleExample = regexp.MustCompile(`^;\s{2,}([a-z0-9]+)=(\S.*?)(\s{2,}.*)?$`)

func readSample(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

func noINI(o *flags.Option) bool { return o.Field().Tag.Get("no-ini") != "" }

func isList(o *flags.Option) bool { return o.Field().Type.Kind() == reflect.Slice }

// TestSampleConfigHasEveryOption checks that every long option of the
// parser, found by walking its groups, is in sample-node.conf: options that
// a configuration file may set as exactly one "; name=value" line, and
// command-line-only ones (no-ini) as "--name" in the prose.
func TestSampleConfigHasEveryOption(t *testing.T) {
	lines := readSample(t)
	text := strings.Join(lines, "\n")
	count := map[string]int{}
	for _, l := range lines {
		if m := sampleOption.FindStringSubmatch(l); m != nil {
			count[m[1]]++
		}
	}
	p, err := newParser(&config{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	eachOption(p, func(o *flags.Option) {
		n++
		switch {
		case o.LongName == "":
			t.Errorf("option %s has no long name", o.Field().Name)
		case noINI(o):
			if !strings.Contains(text, "--"+o.LongName) {
				t.Errorf("command-line-only option --%s is not mentioned in %s", o.LongName, samplePath)
			}
			if count[o.LongName] > 0 {
				t.Errorf("command-line-only option %s has an option line in %s", o.LongName, samplePath)
			}
		case count[o.LongName] != 1:
			t.Errorf("option %s has %d lines \"; %s=...\" in %s, want 1", o.LongName, count[o.LongName], o.LongName, samplePath)
		}
	})
	if n < 20 {
		t.Fatalf("found only %d options; is the walk over the parser's groups broken?", n)
	}
	for name := range count {
		if o := findOption(p, name); o == nil || o.LongName != name {
			t.Errorf("%s has a line for %q, which is not an option", samplePath, name)
		}
	}
	// The help option is go-flags' own, added when parsing.
	if !strings.Contains(text, "--help") {
		t.Errorf("--help is not mentioned in %s", samplePath)
	}
}

// TestSampleConfigDefaultsAreReal uncomments every "; name=value" line of
// sample-node.conf and checks that the result parses to the same
// configuration as no configuration file at all: the documented defaults are
// the real ones.
//
// Lines left commented, on principle:
//   - list options (listen, externalip, connect, addpeer, onlynet, uacomment) have no default
//     entries, so the sample writes them "; name=" with examples in the
//     prose; uncommenting would add one empty entry, which is an error (also
//     checked here), not the default. A list line with a value would be
//     uncommented and checked like any other.
//   - datadir is written as its Linux/BSD default, ~/.peerd/data; on other
//     systems the default differs (the sample says how), so it is checked
//     only where appdir.Dir is ~/.peerd.
func TestSampleConfigDefaultsAreReal(t *testing.T) {
	// The real application data directory, so that datadir's default is
	// the real one; both loads name their file with -C, so no file in it
	// is read.
	appDir := appdir.Dir()
	posixAppDir := appDir == filepath.Join(homeDir(""), ".peerd")
	switch runtime.GOOS {
	case "windows", "darwin", "plan9":
	default:
		if !posixAppDir {
			t.Errorf("AppDataDir is %s, not ~/.peerd as the sample says", appDir)
		}
	}
	p, err := newParser(&config{}, appDir)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var out []string
	var emptyLists []string
	uncommented := 0
	for _, l := range readSample(t) {
		m := sampleOption.FindStringSubmatch(l)
		if m == nil {
			out = append(out, l)
			continue
		}
		o := findOption(p, m[1])
		if o == nil {
			t.Fatalf("%q names no option", l)
		}
		switch {
		case isList(o) && m[2] == "":
			emptyLists = append(emptyLists, m[1]+"=")
			out = append(out, l)
		case m[1] == "datadir" && !posixAppDir:
			t.Logf("datadir's default here is %s; not checking %q", filepath.Join(appDir, "data"), l)
			out = append(out, l)
		default:
			out = append(out, m[1]+"="+m[2])
			uncommented++
		}
	}
	want := 0
	eachOption(p, func(o *flags.Option) {
		if !noINI(o) && !isList(o) {
			want++
		}
	})
	if !posixAppDir {
		want--
	}
	if uncommented != want {
		t.Errorf("uncommented %d option lines, want one per single-valued option: %d", uncommented, want)
	}

	empty := writeFile(t, dir, "empty.conf", "")
	base, err := loadConfig([]string{"-C", empty}, appDir)
	if err != nil {
		t.Fatal(err)
	}
	sample := writeFile(t, dir, "sample.conf", strings.Join(out, "\n"))
	got, err := loadConfig([]string{"-C", sample}, appDir)
	if err != nil {
		t.Fatalf("uncommented sample: %v", err)
	}
	got.ConfigFile = base.ConfigFile
	if !reflect.DeepEqual(got, base) {
		t.Fatalf("uncommented sample gives\n%+v\nno file gives\n%+v", got, base)
	}

	// The list lines, uncommented as they are, are rejected rather than
	// silently adding an empty entry.
	if len(emptyLists) != 7 {
		t.Errorf("empty list lines %q, want listen, externalip, connect, addpeer, onlynet, uacomment and rpclisten", emptyLists)
	}
	for _, l := range emptyLists {
		f := writeFile(t, dir, "list.conf", l+"\n")
		if _, err := loadConfig([]string{"-C", f}, appDir); err == nil || !strings.Contains(err.Error(), f+":1: invalid value") {
			t.Errorf("%q: error %v, want an invalid value at %s:1", l, err, f)
		}
	}
}

// TestSampleConfigExamplesAreValid parses each example line of the sample,
// ";   name=value   explanation", on its own.
func TestSampleConfigExamplesAreValid(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, l := range readSample(t) {
		m := sampleExample.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n++
		f := writeFile(t, dir, "example.conf", m[1]+"="+m[2]+"\n")
		if _, err := loadConfig([]string{"-C", f}, dir); err != nil {
			t.Errorf("example %q: %v", l, err)
		}
	}
	if n < 5 {
		t.Errorf("found %d examples, want at least 5", n)
	}
}
