package deploycheck

import (
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfiles are the images compose.yml builds, by the binary each
// builds with `go build`.
var dockerfiles = map[string]string{
	"k8s-sandbox/Dockerfile": "./agent",
	"loadgen/Dockerfile":     "./loadgen",
	"exporter/Dockerfile":    "./exporter",
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string   // FROM, COPY, RUN... upper case
	args []string // split on blanks
	line string   // the whole text after the command
}

// stage is one build stage.
type stage struct {
	name  string // AS name, or ""
	from  string
	instr []instruction
}

// parseDockerfile splits a Dockerfile into stages; enough of the format
// for these files (no heredocs, no parser directives).
func parseDockerfile(text string) []stage {
	var stages []stage
	var joined []string
	cur := ""
	for raw := range strings.SplitSeq(text, "\n") {
		l := strings.TrimSpace(raw)
		if cur == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(l, `\`); ok {
			cur += rest + " "
			continue
		}
		joined = append(joined, cur+l)
		cur = ""
	}
	for _, l := range joined {
		cmd, line, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Fields(line), line: line}
		if in.cmd == "FROM" {
			s := stage{from: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
		}
	}
	return stages
}

func TestParseDockerfile(t *testing.T) {
	st := parseDockerfile("# c\nFROM a:1 AS b\nRUN x \\\n  y\nCOPY s ./d\n\nFROM c:2\nUSER 1:1\n")
	if len(st) != 2 || st[0].name != "b" || st[0].from != "a:1" || st[1].from != "c:2" {
		t.Fatalf("stages %+v", st)
	}
	if len(st[0].instr) != 2 || st[0].instr[0].line != "x  y" || st[0].instr[1].args[0] != "s" {
		t.Fatalf("instructions %+v", st[0].instr)
	}
}

// TestDockerfileBaseImagesArePinned checks every FROM that is not an
// earlier stage, and the k3s image the sandbox runs.
func TestDockerfileBaseImagesArePinned(t *testing.T) {
	for df := range dockerfiles {
		stages := parseDockerfile(readRepoFile(t, df))
		var names []string
		for _, s := range stages {
			if !slices.Contains(names, s.from) {
				checkPinned(t, df+" FROM", s.from)
			}
			names = append(names, s.name)
		}
		final := stages[len(stages)-1]
		if df == "k8s-sandbox/Dockerfile" {
			k3s := ""
			for _, in := range final.instr {
				if in.cmd == "ENV" {
					for _, a := range in.args {
						if v, ok := strings.CutPrefix(a, "K3S_IMAGE="); ok {
							k3s = v
						}
					}
				}
			}
			checkPinned(t, df+" K3S_IMAGE", k3s)
		}
	}
}

func checkPinned(t *testing.T, where, image string) {
	t.Helper()
	_, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	if !ok || !versionTag.MatchString(tag) {
		t.Errorf("%s %q: want a version tag", where, image)
	}
}

// TestDockerfilesCopyWhatTheBuildNeeds runs `go list -deps` on each image's
// binary: every package of this module it needs, and every file those
// packages embed, must be copied into the build stage and not excluded by
// .dockerignore. Otherwise `docker build` fails, which nobody here would
// see.
func TestDockerfilesCopyWhatTheBuildNeeds(t *testing.T) {
	root := repoRoot(t)
	ignore := dockerignorePatterns(t)
	for df, pkg := range dockerfiles {
		t.Run(df, func(t *testing.T) {
			var copied []string
			built := false
			for _, s := range parseDockerfile(readRepoFile(t, df)) {
				copied = copied[:0]
				for _, in := range s.instr {
					if in.cmd == "COPY" && !strings.HasPrefix(in.args[0], "--from=") {
						for _, src := range in.args[:len(in.args)-1] {
							copied = append(copied, path.Clean(src))
						}
					}
					if in.cmd == "RUN" && strings.Contains(in.line, "go build") &&
						slices.Contains(in.args, pkg) {
						built = true
						break
					}
				}
				if built {
					break
				}
			}
			if !built {
				t.Fatalf("no stage runs go build %s", pkg)
			}
			for _, f := range []string{"go.mod", "go.sum"} {
				if !slices.Contains(copied, f) {
					t.Errorf("%s is not copied before go build", f)
				}
			}
			cmd := exec.Command("go", "list", "-deps",
				"-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{join .GoFiles ","}},{{join .CgoFiles ","}},{{join .EmbedFiles ","}}{{end}}{{end}}`, pkg)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			files := 0
			for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
				dir, list, _ := strings.Cut(line, "|")
				rel, err := filepath.Rel(root, dir)
				if err != nil {
					t.Fatal(err)
				}
				for f := range strings.SplitSeq(list, ",") {
					if f == "" {
						continue
					}
					files++
					p := path.Join(filepath.ToSlash(rel), f)
					if !slices.ContainsFunc(copied, func(c string) bool { return c == p || strings.HasPrefix(p, c+"/") }) {
						t.Errorf("%s needs %s, which is not copied into the build stage", pkg, p)
					}
					if pat, ok := ignored(ignore, p); ok {
						t.Errorf("%s needs %s, which .dockerignore excludes (%s)", pkg, p, pat)
					}
				}
			}
			if files == 0 {
				t.Fatalf("go list found no files of %s", pkg)
			}
		})
	}
}

// dockerignorePatterns returns the patterns of .dockerignore.
func dockerignorePatterns(t *testing.T) []string {
	t.Helper()
	var out []string
	for l := range strings.SplitSeq(readRepoFile(t, dockerignore), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf("%s: exceptions (%s) are not handled by this check", dockerignore, l)
		}
		out = append(out, strings.TrimPrefix(l, "/"))
	}
	return out
}

// doubleStar is a "**/" pattern prefix: any number of directories.
var doubleStar = regexp.MustCompile(`^(\*\*/)+`)

// ignored reports the first pattern that excludes the file p (a path
// relative to the build context), as Docker does: a pattern matches the
// path or one of its parent directories; "**/" matches any directories.
func ignored(patterns []string, p string) (string, bool) {
	parts := strings.Split(p, "/")
	for _, pat := range patterns {
		anyDepth := doubleStar.MatchString(pat)
		rest := doubleStar.ReplaceAllString(pat, "")
		n := strings.Count(rest, "/") + 1
		for start := 0; start+n <= len(parts) && (anyDepth || start == 0); start++ {
			if ok, _ := path.Match(rest, strings.Join(parts[start:start+n], "/")); ok {
				return pat, true
			}
		}
	}
	return "", false
}

func TestDockerignoreMatching(t *testing.T) {
	pats := []string{"docs", "**/*_test.go", "**/testdata", "*.test", "bin"}
	for p, want := range map[string]bool{
		"docs/a.md": true, "internal/docs/a.md": false, "internal/x/x_test.go": true,
		"x_test.go": true, "internal/vibectl/testdata/f": true, "a.test": true,
		"internal/a.test": false, "internal/vibectl/guard.go": false, "binary/x": false,
	} {
		if _, got := ignored(pats, p); got != want {
			t.Errorf("ignored(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestSandboxPythonPackagesArePinned checks that the sandbox installs
// vibectl 0.11.6 with every dependency pinned.
func TestSandboxPythonPackagesArePinned(t *testing.T) {
	const reqs = "k8s-sandbox/requirements.txt"
	var pkgs []string
	for l := range strings.SplitSeq(readRepoFile(t, reqs), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, version, ok := strings.Cut(l, "==")
		if !ok || version == "" || strings.ContainsAny(version, "<>=*, ") {
			t.Errorf("%s: %q is not pinned with ==", reqs, l)
		}
		pkgs = append(pkgs, strings.ToLower(name)+"=="+version)
	}
	for _, want := range []string{"vibectl==0.11.6", "llm==0.36"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("%s lacks %s", reqs, want)
		}
	}
	if !slices.ContainsFunc(pkgs, func(p string) bool { return strings.HasPrefix(p, "llm-anthropic==") }) {
		t.Errorf("%s lacks llm-anthropic", reqs)
	}
}
