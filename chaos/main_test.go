package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kafkatune/kafkatune/internal/chaos"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// TestBadInputExitsTwo runs the command with bad flags and environment
// values: exit status 2 and one line naming the input and what is allowed.
// Nothing starts: the input is checked first.
func TestBadInputExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"unknown flag", []string{"-bogus"}, nil, []string{"-bogus"}},
		{"stray argument", []string{"now"}, nil, []string{`"now"`}},
		{"restarts", []string{"-restarts", "five"}, nil, []string{"--restarts", "CHAOS_RESTARTS", "an integer"}},
		{"rate", []string{"-rate=-500"}, nil, []string{"--rate", "CHAOS_RATE", "greater than 0"}},
		{"rate env", nil, map[string]string{"CHAOS_RATE": "fast"}, []string{"--rate", "CHAOS_RATE", "a number"}},
		{"seed", []string{"-seed", "1.5"}, nil, []string{"--seed", "CHAOS_SEED"}},
		{"interval order", nil, map[string]string{"CHAOS_MIN_INTERVAL": "20s"},
			[]string{"--max-interval", "CHAOS_MAX_INTERVAL", "--min-interval (20s)"}},
		{"cooldown", []string{"-cooldown", "0s"}, nil, []string{"--cooldown", "CHAOS_COOLDOWN", "at least 1s"}},
		{"partitions", []string{"-partitions", "1000"}, nil, []string{"--partitions", "CHAOS_PARTITIONS", "from 1 to 100"}},
		{"message size", nil, map[string]string{"CHAOS_MESSAGE_SIZE": "2"}, []string{"--message-size", "from 29"}},
		{"grace", []string{"-grace", "abc"}, nil, []string{"--grace", "CHAOS_GRACE", "duration"}},
		{"log level", nil, map[string]string{"LOG_LEVEL": "chatty"}, []string{"--log-level", "LOG_LEVEL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, env(tt.env), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != exitUsage {
				t.Fatalf("exit code = %d, want %d (err %v)", code, exitUsage, err)
			}
			line := strings.TrimSuffix(stderr.String(), "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "chaos: ") {
				t.Errorf("stderr = %q, want one line starting with chaos:", stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not contain %q", line, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-help"}, env(nil), &stdout, &stderr)
	if code := exitCode(err, &stderr); code != exitOK {
		t.Fatalf("exit code = %d, want 0 (err %v)", code, err)
	}
	if !strings.Contains(stdout.String(), "-restarts") || stderr.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want the usage on stdout only", stdout.String(), stderr.String())
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		rep  chaos.Report
		code int
	}{
		{chaos.Report{Acked: 100, Consumed: 100}, exitOK},
		{chaos.Report{Acked: 100, Consumed: 101, Duplicates: 3, Failed: 1}, exitOK},
		{chaos.Report{Acked: 100, Consumed: 99, Lost: 1}, exitError},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := verdict(tt.rep, &stdout)
		if code := exitCode(err, &stderr); code != tt.code {
			t.Errorf("lost=%d: exit code %d, want %d", tt.rep.Lost, code, tt.code)
		}
		if stdout.String() != tt.rep.Line()+"\n" {
			t.Errorf("stdout = %q, want the report line", stdout.String())
		}
		if tt.code == exitError && !strings.Contains(stderr.String(), "lost") {
			t.Errorf("stderr = %q, want it to say what was lost", stderr.String())
		}
	}
}
